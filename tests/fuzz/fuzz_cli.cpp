// libFuzzer entry point (make fuzz): bytes through uc::fuzz::cli (tests/fuzz/fuzz_targets.h).
#include "tests/fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  uc::fuzz::cli(data, size);
  return 0;
}
