// Small helpers shared by the CUDA layer files: launch sizes and argument checks.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>

#include "runtime/cuda_check.h"
#include "runtime/cuda_state.cuh"
#include "runtime/tensor.h"

namespace uc::gpu {

constexpr int kThreads = 256;

// Kernels loop with a grid stride, so the grid is capped and never empty.
inline unsigned blocks_for(int64_t count) {
  return static_cast<unsigned>(std::clamp<int64_t>((count + kThreads - 1) / kThreads, 1, 1 << 20));
}

// A caller bug (wrong backend or size) is reported before any device work is queued.
inline void expect(const Tensor& t, int64_t numel, const char* what) {
  UC_ASSERT(t.defined() && t.backend() == Backend::CUDA,
            std::string(what) + ": expected a CUDA tensor");
  UC_ASSERT(t.numel() == numel, std::string(what) + ": expected " + std::to_string(numel) +
                                    " elements, got " + shape_str(t.shape()));
}

}  // namespace uc::gpu
