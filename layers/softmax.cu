// Softmax over the last dimension, one warp per row: rows are short (classes, ~1000), so a warp
// strides across a row and reduces with shuffles; the max is subtracted for stability.
#include <cmath>

#include "core/cuda_launch.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

constexpr int kWarp = 32, kRowsPerBlock = gpu::kThreads / kWarp;

__device__ float warp_max(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

__device__ float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

// A whole warp shares one row, so the early return keeps full-mask shuffles valid.
__global__ void softmax_forward_kernel(float* out, const float* in, int n, int classes) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const float* x = in + int64_t(row) * classes;
  float* y = out + int64_t(row) * classes;
  float m = -INFINITY;
  for (int j = lane; j < classes; j += kWarp) m = fmaxf(m, x[j]);
  m = warp_max(m);
  float sum = 0.f;
  for (int j = lane; j < classes; j += kWarp) sum += expf(x[j] - m);
  const float inv = 1.f / warp_sum(sum);
  for (int j = lane; j < classes; j += kWarp) y[j] = expf(x[j] - m) * inv;
}

// din = out * (dout - sum(dout * out)); the sum is complete before any lane writes, so din may
// alias dout.
__global__ void softmax_backward_kernel(float* din, const float* dout, const float* out, int n,
                                        int classes) {
  const int row = blockIdx.x * kRowsPerBlock + threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (row >= n) return;
  const int64_t base = int64_t(row) * classes;
  float dot = 0.f;
  for (int j = lane; j < classes; j += kWarp) dot += dout[base + j] * out[base + j];
  dot = warp_sum(dot);
  for (int j = lane; j < classes; j += kWarp) din[base + j] = out[base + j] * (dout[base + j] - dot);
}

unsigned row_blocks(int n) { return unsigned((n + kRowsPerBlock - 1) / kRowsPerBlock); }

}  // namespace

void softmax_forward_cuda(Context&, Tensor& out, const Tensor& in, int n, int classes) {
  gpu::expect(in, int64_t(n) * classes, "softmax_forward input");
  gpu::expect(out, int64_t(n) * classes, "softmax_forward output");
  if (n <= 0 || classes <= 0) return;
  softmax_forward_kernel<<<row_blocks(n), gpu::kThreads>>>(out.data(), in.data(), n, classes);
  CUDA_CHECK_LAUNCH();
}

void softmax_backward_cuda(Context&, Tensor& din, const Tensor& dout, const Tensor& out, int n,
                           int classes) {
  gpu::expect(out, int64_t(n) * classes, "softmax_backward out");
  gpu::expect(dout, int64_t(n) * classes, "softmax_backward dout");
  gpu::expect(din, int64_t(n) * classes, "softmax_backward din");
  if (n <= 0 || classes <= 0) return;
  softmax_backward_kernel<<<row_blocks(n), gpu::kThreads>>>(din.data(), dout.data(), out.data(), n,
                                                            classes);
  CUDA_CHECK_LAUNCH();
}

}  // namespace uc
