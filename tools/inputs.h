// What `predict`, `explain` and `eval` share about files: the image list as people give it
// (files, folders, "-" for standard input), decoding with the size limit, and output paths that
// are checked before any work starts.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "io/image.h"
#include "tools/cli.h"

namespace uc::cli {

// One image to process.
struct InputImage {
  std::string path;  // as given or found; "-" for standard input
  std::string name;  // output file stem: the file's stem; below a folder its relative path
                     // without extension, '/' replaced by '_'; "stdin" for "-"
};

// Files as given (decoding reports what is wrong with them), folders searched recursively for
// png/jpg/jpeg/bmp files (any case) in sorted order, and "-" at most once. A folder holding no
// image is reported on standard error and counted in *failures.
std::vector<InputImage> expand_inputs(const std::vector<std::string>& args, int* failures);

// Decodes an input, refusing images over `max_pixels`; "-" reads all of standard input.
Image load_input(const InputImage& input, size_t max_pixels);

// --max-pixels N (default 100 million).
size_t parse_max_pixels(const Args& args);

// Usage errors (exit 2) raised before any work: two inputs with the same output name, or an
// output that exists while `force` is false.
void check_unique_names(const std::vector<InputImage>& inputs);
void check_outputs(const std::vector<std::string>& paths, bool force);

// ".png" for "a/B.PNG": the extension in lower case, "" when there is none.
std::string lowercase_extension(const std::string& path);

// Creates the folder a file is written to, and the folders above it.
void create_parent_folders(const std::string& file);

}  // namespace uc::cli
