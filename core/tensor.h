// A typed tensor on one backend: float32, or bfloat16 for MathMode::BF16's fused inference steps.
// Storage is shared (views alias it); row-major and contiguous, NCHW unless an op says otherwise.
// Copies between host and device are explicit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace uc {

// Element types. A bf16 value is the high half of a float32: uint16 bits on the host, read as
// __nv_bfloat16 on the device.
enum class DType { F32, BF16 };
const char* dtype_name(DType d);  // "f32" | "bf16"
size_t dtype_bytes(DType d);      // 4 | 2
// Rounds to bfloat16 (to nearest, ties to even; NaN stays NaN, as __float2bfloat16_rn) and back
// (exact).
uint16_t to_bf16(float value);
float from_bf16(uint16_t bits);

enum class Backend { CPU, CUDA };
const char* backend_name(Backend b);

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[1, 3, 224, 224]"

class Tensor {
 public:
  Tensor() = default;
  // Uninitialised
  static Tensor empty(Backend backend, const Shape& shape, DType dtype = DType::F32);
  static Tensor zeros(Backend backend, const Shape& shape, DType dtype = DType::F32);
  // Values given as floats; a BF16 tensor stores each rounded to bfloat16.
  static Tensor from_host(Backend backend, const Shape& shape, const float* values,
                          DType dtype = DType::F32);
  static Tensor from_host(Backend backend, const Shape& shape, const std::vector<float>& values,
                          DType dtype = DType::F32);

  std::vector<float> to_host() const;                       // as floats (bf16 widens exactly)
  void copy_from_host(const float* values, int64_t count);  // count <= numel; rounded in BF16
  void copy_from(const Tensor& other);                      // same dtype and numel, any backends
  void fill_zero();

  // Alias of `numel(shape)` elements starting `offset` elements in; shares storage.
  Tensor view(int64_t offset, const Shape& shape) const;
  Tensor reshape(const Shape& shape) const { return view(0, shape); }
  // The first bytes of this one's storage seen as `shape` of another type (a float buffer that
  // holds bf16 maps at times): they must fit.
  Tensor view_as(DType dtype, const Shape& shape) const;

  // Element access, checked against the dtype: data() for F32, bf16_data() for BF16 (on the
  // tensor's backend: device pointers on CUDA).
  float* data() { return reinterpret_cast<float*>(checked(DType::F32)); }
  const float* data() const { return reinterpret_cast<const float*>(checked(DType::F32)); }
  uint16_t* bf16_data() { return reinterpret_cast<uint16_t*>(checked(DType::BF16)); }
  const uint16_t* bf16_data() const {
    return reinterpret_cast<const uint16_t*>(checked(DType::BF16));
  }
  // Untyped, for library calls that take the type from a descriptor (cuDNN).
  void* raw_data() { return ptr_; }
  const void* raw_data() const { return ptr_; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(static_cast<size_t>(i)); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_bytes(dtype_); }
  bool defined() const { return ptr_ != nullptr; }
  Backend backend() const { return backend_; }

 private:
  char* checked(DType want) const {
    if (dtype_ != want) fail_dtype(want);
    return ptr_;
  }
  [[noreturn]] void fail_dtype(DType want) const;

  std::shared_ptr<void> storage_;
  char* ptr_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::F32;
  Backend backend_ = Backend::CPU;
};

// Bytes of device memory (free, total); {0,0} on a build without CUDA.
std::pair<size_t, size_t> cuda_memory_info();

// Memory this process holds through Tensor storage (and, on CUDA, the context's workspace),
// per backend: bytes allocated now, and the most held at once since the last reset.
size_t allocated_bytes(Backend b);
size_t peak_allocated_bytes(Backend b);
void reset_peak_allocated_bytes(Backend b);  // peak := current
// Accounts device memory allocated (bytes > 0) or freed (bytes < 0) outside Tensor.
void note_device_allocation(std::ptrdiff_t bytes);
// Caps the bytes of tensors held on a backend (0: no cap). An allocation past the cap fails like
// an out-of-memory one (ErrorKind::OutOfMemory), so callers that shrink
// their batch on out-of-memory honour the cap too.
void set_memory_limit(Backend b, size_t bytes);
// Fails like an out-of-memory allocation when `bytes` more would pass the cap (for allocations
// made outside Tensor, such as the cuDNN workspace); memory_headroom is what is left under the
// cap (SIZE_MAX without one).
void check_memory_limit(Backend b, size_t bytes);
size_t memory_headroom(Backend b);

}  // namespace uc
