// CUDA launch helpers for every kernel file: launch sizes, workspace alignment, argument checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>

#include <cuda_bf16.h>

#include "core/cuda_check.h"
#include "core/cuda_state.cuh"
#include "core/tensor.h"

namespace uc::gpu {

constexpr int kThreads = 256;

// Workspace carving: every sub-buffer starts on a 256-byte boundary (cudaMalloc's alignment).
constexpr size_t kAlign = 256;
inline size_t align_up(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

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
