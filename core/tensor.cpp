#include "core/tensor.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "core/error.h"
#ifdef UNIONCAM_CUDA
#include "core/cuda_check.h"
#endif

namespace uc {

const char* backend_name(Backend b) { return b == Backend::CUDA ? "cuda" : "cpu"; }

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n *= d;
  return n;
}

std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << "[";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  o << "]";
  return o.str();
}

namespace {
// Atomic so that frees from any thread are counted; the peak only ever rises between resets.
struct MemoryCounter {
  std::atomic<size_t> current{0}, peak{0};

  void add(std::ptrdiff_t bytes) {
    const size_t now = current.fetch_add(static_cast<size_t>(bytes)) + static_cast<size_t>(bytes);
    size_t seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
  }
};
MemoryCounter counters[2];  // indexed by Backend
MemoryCounter& counter(Backend b) { return counters[b == Backend::CUDA ? 1 : 0]; }

std::atomic<size_t> memory_limits[2] = {0, 0};  // bytes; 0 = no limit
}  // namespace

// A user's memory budget is enforced like a failed allocation, so the same recovery applies.
void check_memory_limit(Backend backend, size_t bytes) {
  const size_t limit = memory_limits[backend == Backend::CUDA ? 1 : 0].load();
  if (limit == 0 || counter(backend).current.load() + bytes <= limit) return;
  char message[160];
  std::snprintf(message, sizeof message,
                "%s: allocating %.1f MiB would exceed the limit of %.1f MiB",
                backend == Backend::CUDA ? "out of device memory" : "out of host memory",
                bytes / 1048576.0, limit / 1048576.0);
  fail_out_of_memory(message);
}

size_t memory_headroom(Backend backend) {
  const size_t limit = memory_limits[backend == Backend::CUDA ? 1 : 0].load();
  const size_t used = counter(backend).current.load();
  return limit == 0 ? SIZE_MAX : limit > used ? limit - used : 0;
}

namespace {
// At least one float's worth, so an empty tensor still has storage.
std::shared_ptr<void> allocate(Backend backend, size_t bytes) {
  bytes = std::max(bytes, sizeof(float));
  check_memory_limit(backend, bytes);
  if (backend == Backend::CUDA) {
#ifdef UNIONCAM_CUDA
    void* p = nullptr;
    cudaError_t status = cudaMalloc(&p, bytes);
    if (status != cudaSuccess) {
      cudaGetLastError();  // clear the sticky-free error so the caller may retry smaller
      fail_out_of_memory("out of device memory: could not allocate " + std::to_string(bytes >> 20) +
                         " MiB (" + cudaGetErrorString(status) + ")");
    }
    note_device_allocation(static_cast<std::ptrdiff_t>(bytes));
    return std::shared_ptr<void>(p, [bytes](void* q) {
      cudaFree(q);
      note_device_allocation(-static_cast<std::ptrdiff_t>(bytes));
    });
#else
    fail_device("this build of unioncam has no CUDA backend");
#endif
  }
  const size_t padded = (bytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, padded);
  if (!p)
    fail_out_of_memory("out of host memory: could not allocate " + std::to_string(bytes >> 20) +
                       " MiB");
  counter(Backend::CPU).add(static_cast<std::ptrdiff_t>(padded));
  return std::shared_ptr<void>(p, [padded](void* q) {
    std::free(q);
    counter(Backend::CPU).add(-static_cast<std::ptrdiff_t>(padded));
  });
}

#ifdef UNIONCAM_CUDA
cudaMemcpyKind copy_kind(Backend dst, Backend src) {
  if (dst == Backend::CUDA)
    return src == Backend::CUDA ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice;
  return src == Backend::CUDA ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost;
}
#endif

void copy_bytes(void* dst, Backend dst_b, const void* src, Backend src_b, size_t bytes) {
  if (bytes == 0) return;
  if (dst_b == Backend::CPU && src_b == Backend::CPU) {
    std::memcpy(dst, src, bytes);
    return;
  }
#ifdef UNIONCAM_CUDA
  CUDA_CHECK(cudaMemcpy(dst, src, bytes, copy_kind(dst_b, src_b)));
#else
  fail_device("this build of unioncam has no CUDA backend");
#endif
}

}  // namespace

const char* dtype_name(DType d) { return d == DType::BF16 ? "bf16" : "f32"; }
size_t dtype_bytes(DType d) { return d == DType::BF16 ? 2 : 4; }

uint16_t to_bf16(float value) {
  uint32_t u;
  std::memcpy(&u, &value, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest, ties to even (carries into the exponent)
  return static_cast<uint16_t>(u >> 16);
}

float from_bf16(uint16_t bits) {
  const uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

Tensor Tensor::empty(Backend backend, const Shape& shape, DType dtype) {
  Tensor t;
  t.backend_ = backend;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.storage_ = allocate(backend, t.nbytes());
  t.ptr_ = static_cast<char*>(t.storage_.get());
  return t;
}

Tensor Tensor::zeros(Backend backend, const Shape& shape, DType dtype) {
  Tensor t = empty(backend, shape, dtype);
  t.fill_zero();
  return t;
}

Tensor Tensor::from_host(Backend backend, const Shape& shape, const float* values, DType dtype) {
  Tensor t = empty(backend, shape, dtype);
  t.copy_from_host(values, t.numel());
  return t;
}

Tensor Tensor::from_host(Backend backend, const Shape& shape, const std::vector<float>& values,
                         DType dtype) {
  UC_ASSERT(
      static_cast<int64_t>(values.size()) == shape_numel(shape),
      "from_host: " + std::to_string(values.size()) + " values for shape " + shape_str(shape));
  return from_host(backend, shape, values.data(), dtype);
}

std::vector<float> Tensor::to_host() const {
  std::vector<float> v(static_cast<size_t>(numel()));
  if (dtype_ == DType::F32) {
    copy_bytes(v.data(), Backend::CPU, ptr_, backend_, nbytes());
    return v;
  }
  std::vector<uint16_t> bits(v.size());
  copy_bytes(bits.data(), Backend::CPU, ptr_, backend_, nbytes());
  std::transform(bits.begin(), bits.end(), v.begin(), from_bf16);
  return v;
}

void Tensor::copy_from_host(const float* values, int64_t count) {
  UC_ASSERT(count <= numel(), "copy_from_host: too many values");
  if (dtype_ == DType::F32)
    return copy_bytes(ptr_, backend_, values, Backend::CPU, count * sizeof(float));
  std::vector<uint16_t> bits(static_cast<size_t>(count));
  std::transform(values, values + count, bits.begin(), to_bf16);
  copy_bytes(ptr_, backend_, bits.data(), Backend::CPU, bits.size() * sizeof(uint16_t));
}

void Tensor::copy_from(const Tensor& other) {
  UC_ASSERT(other.numel() == numel() && other.dtype() == dtype_,
            "copy_from: " + shape_str(other.shape()) + " " + dtype_name(other.dtype()) + " into " +
                shape_str(shape_) + " " + dtype_name(dtype_));
  if (other.ptr_ == ptr_) return;
  copy_bytes(ptr_, backend_, other.ptr_, other.backend_, nbytes());
}

void Tensor::fill_zero() {
  if (numel() == 0) return;
  if (backend_ == Backend::CPU) {
    std::memset(ptr_, 0, nbytes());
    return;
  }
#ifdef UNIONCAM_CUDA
  CUDA_CHECK(cudaMemset(ptr_, 0, nbytes()));
#endif
}

Tensor Tensor::view(int64_t offset, const Shape& shape) const {
  UC_ASSERT(offset >= 0 && offset + shape_numel(shape) <= numel(),
            "view " + shape_str(shape) + " at " + std::to_string(offset) + " outside " +
                shape_str(shape_));
  Tensor t = *this;
  t.ptr_ = ptr_ + offset * static_cast<int64_t>(dtype_bytes(dtype_));
  t.shape_ = shape;
  return t;
}

Tensor Tensor::view_as(DType dtype, const Shape& shape) const {
  UC_ASSERT(static_cast<size_t>(shape_numel(shape)) * dtype_bytes(dtype) <= nbytes(),
            "view_as " + shape_str(shape) + " " + dtype_name(dtype) + " does not fit in " +
                shape_str(shape_) + " " + dtype_name(dtype_));
  Tensor t = *this;
  t.shape_ = shape;
  t.dtype_ = dtype;
  return t;
}

void Tensor::fail_dtype(DType want) const {
  throw Error(ErrorKind::Internal, "the tensor " + shape_str(shape_) + " holds " +
                                       dtype_name(dtype_) + ", not " + dtype_name(want));
}

size_t allocated_bytes(Backend b) { return counter(b).current.load(); }
size_t peak_allocated_bytes(Backend b) { return counter(b).peak.load(); }
void reset_peak_allocated_bytes(Backend b) { counter(b).peak.store(counter(b).current.load()); }
void note_device_allocation(std::ptrdiff_t bytes) { counter(Backend::CUDA).add(bytes); }
void set_memory_limit(Backend b, size_t bytes) {
  memory_limits[b == Backend::CUDA ? 1 : 0].store(bytes);
}

std::pair<size_t, size_t> cuda_memory_info() {
#ifdef UNIONCAM_CUDA
  size_t free_b = 0, total_b = 0;
  if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) {
    cudaGetLastError();
    return {0, 0};
  }
  return {free_b, total_b};
#else
  return {0, 0};
#endif
}

}  // namespace uc
