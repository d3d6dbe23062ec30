// What the fuzz targets do with their bytes, as plain functions: the libFuzzer entry points
// (tests/fuzz/fuzz_*.cpp, `make fuzz`) call them, and so does a unit test that replays the seeds
// and every committed regression input (tests/fuzz/regressions/) in every build.
// An input may be refused with a uc::Error of any kind; anything else (a crash, a sanitizer
// report, another exception) is a finding.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "cam/cam.h"
#include "core/error.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "tools/cam_cli.h"
#include "tools/cli.h"
#include "tools/inputs.h"
#include "weights/weights.h"

namespace uc::fuzz {

// Bytes as an image file, under a small pixel limit (the header check is part of what is tried),
// then prepared for a 32x32 model in each way --preprocess offers.
inline void image(const uint8_t* data, size_t size) {
  try {
    const Image img = load_image_from_memory(data, size, "fuzz input", size_t(1) << 22);
    for (Preprocess p :
         {Preprocess::Antialias, Preprocess::Torchvision, Preprocess::Keras, Preprocess::Plain})
      try {
        prepare_model_image(img, p, 32, 32, "fuzz input");
      } catch (const Error&) {
      }
  } catch (const Error&) {
  }
}

// Bytes as a weights file (HDF5 reads files, so they go to a temporary one per process).
inline void weights(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/unioncam_fuzz_" + std::to_string(getpid()) + ".h5";
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return;
  const bool written = std::fwrite(data, 1, size, f) == size;
  std::fclose(f);
  if (!written) return;
  try {
    load_weights(path);
  } catch (const Error&) {
  }
}

// Bytes as a command line: arguments separated by NUL bytes, parsed as `explain` parses them
// (options, methods, CAM options with ten class names, --input-size, --max-pixels).
inline void cli(const uint8_t* data, size_t size) {
  std::vector<std::string> words(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0)
      words.emplace_back();
    else
      words.back() += char(data[i]);
  }
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  try {
    std::set<std::string> valued = cli::kCamValueOptions;
    valued.insert({"weights", "method", "out", "alpha", "format", "grid", "max-pixels",
                   "input-size", "dump"});
    const cli::Args args("explain", int(argv.size()), argv.data(), valued,
                         {"save-map", "json", "quiet", "force", "help"});
    cli::parse_methods(args.get("method", "unioncam"));
    const std::vector<std::string> names = {"T-shirt", "Trouser",   "Pullover", "Dress",
                                            "Coat",    "Sandal",    "Shirt",    "Sneaker",
                                            "Bag",     "Ankle boot"};
    cli::parse_cam_options(args, names);
    cli::parse_max_pixels(args);
    choose_preprocess(args.get("preprocess", ""), "", "");
    int h = 0, w = 0;
    if (args.has("input-size")) cli::parse_input_size(args.get("input-size", ""), &h, &w);
  } catch (const Error&) {
  }
}

}  // namespace uc::fuzz
