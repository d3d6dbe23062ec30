// A float32 tensor on one backend. Storage is shared (views alias it); layout is NCHW on both
// backends, row-major, contiguous. Copies between host and device are explicit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace uc {

// bfloat16 storage (MathMode::BF16's fused inference steps): tensors stay float-typed, and
// `count` bf16 values are packed two per float, in bf16_floats(count) floats (value i in the low
// half of float i/2 on little-endian machines).
inline int64_t bf16_floats(int64_t count) { return (count + 1) / 2; }

enum class Backend { CPU, CUDA };
const char* backend_name(Backend b);

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);
std::string shape_str(const Shape& s);  // "[1, 3, 224, 224]"

class Tensor {
 public:
  Tensor() = default;
  static Tensor empty(Backend backend, const Shape& shape);   // uninitialised
  static Tensor zeros(Backend backend, const Shape& shape);
  static Tensor from_host(Backend backend, const Shape& shape, const float* values);
  static Tensor from_host(Backend backend, const Shape& shape, const std::vector<float>& values);

  std::vector<float> to_host() const;
  void copy_from_host(const float* values, int64_t count);  // count <= numel
  void copy_from(const Tensor& other);                      // same numel, any backends
  void fill_zero();

  // Alias of `numel(shape)` elements starting `offset` elements in; shares storage.
  Tensor view(int64_t offset, const Shape& shape) const;
  Tensor reshape(const Shape& shape) const { return view(0, shape); }

  float* data() { return ptr_; }
  const float* data() const { return ptr_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const { return shape_.at(static_cast<size_t>(i)); }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  bool defined() const { return ptr_ != nullptr; }
  Backend backend() const { return backend_; }

 private:
  std::shared_ptr<float> storage_;
  float* ptr_ = nullptr;
  Shape shape_;
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
