#include "tools/inputs.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>

#include "core/error.h"

namespace uc::cli {
namespace fs = std::filesystem;

namespace {
bool is_image_file(const fs::path& p) {
  const std::string ext = lowercase_extension(p.string());
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

// Image files below `dir`, sorted bytewise by path (as `sort` with LC_ALL=C would) so every run
// sees the same order.
std::vector<std::string> images_in(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
       it.increment(ec))
    if (it->is_regular_file() && is_image_file(it->path())) files.push_back(it->path().string());
  if (ec) fail_input("cannot read the folder '" + dir + "': " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<unsigned char> read_stdin() {
  std::vector<unsigned char> data;
  unsigned char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) data.insert(data.end(), buf, buf + n);
  if (std::ferror(stdin))
    fail_input(std::string("cannot read standard input: ") + std::strerror(errno));
  return data;
}
}  // namespace

std::vector<InputImage> expand_inputs(const std::vector<std::string>& args, int* failures) {
  std::vector<InputImage> inputs;
  bool stdin_used = false;
  for (const std::string& arg : args) {
    std::error_code ec;
    if (arg == "-") {
      if (stdin_used) fail_usage("'-' (standard input) can be given only once");
      stdin_used = true;
      inputs.push_back({"-", "stdin"});
    } else if (fs::is_directory(arg, ec)) {
      const std::vector<std::string> files = images_in(arg);
      if (files.empty()) {
        std::cerr << "unioncam: error: folder '" << arg
                  << "' holds no image files (png, jpg, jpeg, bmp) (skipped)\n";
        ++*failures;
      }
      for (const std::string& f : files) {
        std::string name = fs::path(f).lexically_relative(arg).replace_extension().generic_string();
        std::replace(name.begin(), name.end(), '/', '_');
        inputs.push_back({f, name});
      }
    } else {
      inputs.push_back({arg, fs::path(arg).stem().string()});
    }
  }
  return inputs;
}

Image load_input(const InputImage& input, size_t max_pixels) {
  if (input.path != "-") return load_image(input.path, max_pixels);
  const std::vector<unsigned char> bytes = read_stdin();
  return load_image_from_memory(bytes.data(), bytes.size(), "standard input", max_pixels);
}

size_t parse_max_pixels(const Args& args) {
  return static_cast<size_t>(
      args.get_int("max-pixels", static_cast<int>(kDefaultMaxPixels), 1, INT_MAX));
}

void check_unique_names(const std::vector<InputImage>& inputs) {
  std::map<std::string, const InputImage*> seen;
  for (const InputImage& in : inputs) {
    const auto [it, fresh] = seen.emplace(in.name, &in);
    if (!fresh)
      fail_usage("'" + it->second->path + "' and '" + in.path +
                 "' would write the same output files ('" + in.name +
                 "_*'); rename one or run them separately");
  }
}

void check_outputs(const std::vector<std::string>& paths, bool force) {
  if (force) return;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::exists(p, ec))
      fail_usage("output '" + p + "' already exists; pass --force to replace it");
  }
}

std::string lowercase_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char ch) { return std::tolower(ch); });
  return ext;
}

void create_parent_folders(const std::string& file) {
  const fs::path parent = fs::path(file).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) fail_output("cannot create the folder '" + parent.string() + "': " + ec.message());
}

}  // namespace uc::cli
