// Tensor storage accounting: current and peak bytes per backend, as `unioncam bench` reports them.
#include "runtime/tensor.h"
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
