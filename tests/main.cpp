// The doctest runner. `--gpu-or-skip` (CTest's `cuda` test): without a usable CUDA device, say so
// and exit 77, which CTest reports as "Skipped" rather than a silent pass. UNIONCAM_REQUIRE_GPU=1
// (set by the GPU check) makes that a failure instead: on the GPU machine a driver problem must
// not come back looking green.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <vector>

#include "core/context.h"

int main(int argc, char** argv) {
  std::vector<char*> args;
  bool gpu_or_skip = false;
  for (int i = 0; i < argc; ++i) {
    if (std::strcmp(argv[i], "--gpu-or-skip") == 0)
      gpu_or_skip = true;
    else
      args.push_back(argv[i]);
  }
  if (gpu_or_skip && !uc::cuda_device_available()) {
    const char* require = std::getenv("UNIONCAM_REQUIRE_GPU");
    const bool required = require != nullptr && *require != '\0' && std::strcmp(require, "0") != 0;
    std::cout << (required ? "FAILED (UNIONCAM_REQUIRE_GPU is set)" : "skipped")
              << ": no usable CUDA device (" << uc::cuda_unavailable_reason()
              << "), so the CUDA-against-CPU tests did not run\n";
    return required ? 1 : 77;
  }
  doctest::Context context(static_cast<int>(args.size()), args.data());
  return context.run();
}
