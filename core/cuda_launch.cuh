// CUDA launch helpers for every kernel file: launch sizes, workspace alignment, argument checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>

#include <cuda_bf16.h>

#include "core/cuda_check.h"
#include "core/cuda_state.cuh"
#include "core/tensor.h"

namespace uc::gpu {

constexpr int kThreads = 256;

// The indices of [0, count) this thread handles in a grid-stride loop (the grid is capped by
// blocks_for, so a thread may take several): `for (const int64_t i : gpu::grid_stride(count))`.
// Index: int64_t, or int where the caller has checked that count fits.
template <typename Index = int64_t>
struct GridStride {
  struct Iterator {
    Index i, step;
    __device__ Index operator*() const { return i; }
    __device__ Iterator& operator++() {
      i += step;
      return *this;
    }
    __device__ bool operator!=(const Iterator& end) const { return i < end.i; }
  };
  Index first, step, count;
  __device__ Iterator begin() const { return {first, step}; }
  __device__ Iterator end() const { return {count, step}; }
};
template <typename Index = int64_t>
__device__ inline GridStride<Index> grid_stride(Index count) {
  return {Index(blockIdx.x) * Index(blockDim.x) + Index(threadIdx.x),
          Index(gridDim.x) * Index(blockDim.x), count};
}

// Kernels index with 32-bit integers where a tensor allows it (cheaper / and % per element):
//   gpu::with_index(count, [&](auto index) { using Index = decltype(index); ... });
// calls the body with Index = int when `count` fits, else int64_t.
template <typename Body>
void with_index(int64_t count, Body body) {
  if (count <= int64_t(std::numeric_limits<int>::max()))
    body(int{});
  else
    body(int64_t{});
}

// Workspace carving: every piece starts on a 256-byte boundary (cudaMalloc's alignment).
//   gpu::WorkspaceLayout layout;
//   const size_t keys = layout.add<float>(n), temp = layout.add<char>(temp_bytes);
//   char* ws = static_cast<char*>(state.workspace(layout.bytes()));
//   float* k = layout.at<float>(ws, keys);
constexpr size_t kAlign = 256;
inline size_t align_up(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }
class WorkspaceLayout {
 public:
  template <typename T>
  size_t add(size_t count) {  // the piece's offset
    const size_t at = bytes_;
    bytes_ = align_up(at + count * sizeof(T));
    return at;
  }
  size_t bytes() const { return bytes_; }
  template <typename T>
  static T* at(void* base, size_t offset) {
    return reinterpret_cast<T*>(static_cast<char*>(base) + offset);
  }

 private:
  size_t bytes_ = 0;
};

// Kernels loop with a grid stride, so the grid is capped and never empty.
inline unsigned blocks_for(int64_t count) {
  return static_cast<unsigned>(std::clamp<int64_t>((count + kThreads - 1) / kThreads, 1, 1 << 20));
}

// A caller bug (wrong backend, type or size) is reported before any device work is queued.
inline void expect(const Tensor& t, int64_t numel, const char* what, DType dtype = DType::F32) {
  UC_ASSERT(t.defined() && t.backend() == Backend::CUDA,
            std::string(what) + ": expected a CUDA tensor");
  UC_ASSERT(t.numel() == numel && t.dtype() == dtype,
            std::string(what) + ": expected " + std::to_string(numel) + " " + dtype_name(dtype) +
                " elements, got " + shape_str(t.shape()) + " " + dtype_name(t.dtype()));
}

__device__ inline float to_float(float v) { return v; }
__device__ inline float to_float(__nv_bfloat16 v) { return __bfloat162float(v); }

// A BF16 tensor's elements as the device sees them.
inline __nv_bfloat16* bf16_data(Tensor& t) {
  return reinterpret_cast<__nv_bfloat16*>(t.bf16_data());
}
inline const __nv_bfloat16* bf16_data(const Tensor& t) {
  return reinterpret_cast<const __nv_bfloat16*>(t.bf16_data());
}

}  // namespace uc::gpu
