// ReLU as elementwise kernels: exact, and safe when out aliases in or din aliases dout.
#include "core/cuda_launch.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

__global__ void relu_forward_kernel(float* out, const float* in, int64_t count) {
  for (const int64_t i : gpu::grid_stride(count)) {
    const float v = in[i];
    out[i] = v < 0.f ? 0.f : v;  // NaN passes (and -0 stays), as on the CPU
  }
}

__global__ void relu_backward_kernel(float* din, const float* dout, const float* out,
                                     int64_t count) {
  for (const int64_t i : gpu::grid_stride(count)) din[i] = out[i] > 0.f ? dout[i] : 0.f;
}

}  // namespace

// Everything runs on the default stream, so the context has nothing to add here.
void relu_forward_cuda(Context&, Tensor& out, const Tensor& in) {
  const int64_t count = in.numel();
  gpu::expect(in, count, "relu_forward input");
  gpu::expect(out, count, "relu_forward output");
  relu_forward_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(out.data(), in.data(), count);
  CUDA_CHECK_LAUNCH();
}

void relu_backward_cuda(Context&, Tensor& din, const Tensor& dout, const Tensor& out) {
  const int64_t count = out.numel();
  gpu::expect(out, count, "relu_backward out");
  gpu::expect(dout, count, "relu_backward dout");
  gpu::expect(din, count, "relu_backward din");
  relu_backward_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(din.data(), dout.data(),
                                                                  out.data(), count);
  CUDA_CHECK_LAUNCH();
}

}  // namespace uc
