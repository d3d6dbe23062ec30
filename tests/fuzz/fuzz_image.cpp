// libFuzzer entry point (make fuzz): bytes through uc::fuzz::image (tests/fuzz/fuzz_targets.h).
#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uc::fuzz::image(data, size);
  return 0;
}
