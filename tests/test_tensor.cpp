// Tensor storage accounting: current and peak bytes per backend, as `unioncam bench` reports them.
#include "core/error.h"
#include "core/tensor.h"
#include "tests/check.h"

using namespace uc;

TEST_CASE("tensor/allocated bytes follow storage, views share it, peak resets to current") {
  const size_t base = allocated_bytes(Backend::CPU), cuda_base = allocated_bytes(Backend::CUDA);
  reset_peak_allocated_bytes(Backend::CPU);
  CHECK(peak_allocated_bytes(Backend::CPU) == base);
  {
    Tensor a = Tensor::empty(Backend::CPU, {1000});  // 4000 bytes, padded to 64: 4032
    CHECK(allocated_bytes(Backend::CPU) == base + 4032);
    const Tensor v = a.view(10, {100});  // aliases: no new storage
    CHECK(allocated_bytes(Backend::CPU) == base + 4032);
    {
      const Tensor b = Tensor::zeros(Backend::CPU, {16});  // 64 bytes
      CHECK(allocated_bytes(Backend::CPU) == base + 4096);
    }
    CHECK(allocated_bytes(Backend::CPU) == base + 4032);
    CHECK(peak_allocated_bytes(Backend::CPU) == base + 4096);
    reset_peak_allocated_bytes(Backend::CPU);
    CHECK(peak_allocated_bytes(Backend::CPU) == base + 4032);
    a = Tensor();
    CHECK(allocated_bytes(Backend::CPU) == base + 4032);  // the view still holds the storage
  }
  CHECK(allocated_bytes(Backend::CPU) == base);
  CHECK(peak_allocated_bytes(Backend::CPU) == base + 4032);
  CHECK(allocated_bytes(Backend::CUDA) == cuda_base);  // host storage is not counted as device
}

TEST_CASE("tensor/a memory cap fails allocations past it like out-of-memory, outside ones too") {
  const size_t used = uc::allocated_bytes(Backend::CPU);
  uc::set_memory_limit(Backend::CPU, used + (1 << 20));
  CHECK(uc::memory_headroom(Backend::CPU) == size_t(1) << 20);
  CHECK_THROWS_AS(Tensor::empty(Backend::CPU, {1 << 19}), uc::Error);  // 2 MiB
  try {
    Tensor::empty(Backend::CPU, {1 << 19});
  } catch (const uc::Error& e) {  // its own kind, which the batch-halving retry looks for
    CHECK(e.kind() == uc::ErrorKind::OutOfMemory);
    CHECK(e.exit_code() == 4);
  }
  {
    const Tensor fits = Tensor::empty(Backend::CPU, {1 << 16});  // 256 KiB
    CHECK(uc::memory_headroom(Backend::CPU) <= (size_t(1) << 20) - (size_t(1) << 18));
    CHECK_THROWS_AS(uc::check_memory_limit(Backend::CPU, size_t(1) << 20), uc::Error);
  }
  uc::check_memory_limit(Backend::CPU, size_t(1) << 19);  // fits again once freed
  uc::set_memory_limit(Backend::CPU, 0);
  CHECK(uc::memory_headroom(Backend::CPU) == SIZE_MAX);
}

TEST_CASE("tensor/errors carry their kind: a broken invariant is internal, not a device error") {
  try {
    Tensor::empty(Backend::CPU, {4}).view(2, {4});  // past the end of its storage
    FAIL("no error for a view past the end");
  } catch (const uc::Error& e) {
    CHECK(e.kind() == uc::ErrorKind::Internal);
    CHECK(e.exit_code() == 4);
  }
  CHECK(uc::exit_code(uc::ErrorKind::Usage) == 2);
  CHECK(uc::exit_code(uc::ErrorKind::BadInput) == 3);
  CHECK(uc::exit_code(uc::ErrorKind::Device) == 4);
  CHECK(uc::exit_code(uc::ErrorKind::Output) == 4);
}

TEST_CASE("errors/printable keeps UTF-8 and escapes every other byte") {
  CHECK(uc::printable("plain: 'a/b.png'\tline\n") == "plain: 'a/b.png'\tline\n");
  CHECK(uc::printable("caf\xc3\xa9 \xe2\x86\x93") == "caf\xc3\xa9 \xe2\x86\x93");  // é, an arrow
  CHECK(uc::printable("bad\xff name") == "bad\\xff name");
  CHECK(uc::printable("bell\x07 esc\x1b[2J") == "bell\\x07 esc\\x1b[2J");
  CHECK(uc::printable("cut \xc3") == "cut \\xc3");                     // truncated sequence
  CHECK(uc::printable("overlong \xc0\xaf") == "overlong \\xc0\\xaf");  // '/' in two bytes
  CHECK(uc::printable(std::string("nul\0here", 8)) == "nul\\x00here");
}
