// Inference batchnorm as a per-channel affine map; the backward pass scales by the same factor.
#include "core/cuda_launch.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

__global__ void batchnorm_forward_kernel(float* out, const float* in, const float* scale,
                                         const float* shift, int64_t count, int channels, int hw) {
  for (const int64_t i : gpu::grid_stride(count)) {
    const int c = int(i / hw % channels);
    out[i] = in[i] * scale[c] + shift[c];
  }
}

__global__ void batchnorm_backward_kernel(float* din, const float* dout, const float* scale,
                                          int64_t count, int channels, int hw) {
  for (const int64_t i : gpu::grid_stride(count)) din[i] = dout[i] * scale[int(i / hw % channels)];
}

}  // namespace

void batchnorm_forward_cuda(Context&, Tensor& out, const Tensor& in, const Tensor& scale,
                            const Tensor& shift, const ChannelShape& shape) {
  const int64_t count = int64_t(shape.n) * shape.c * shape.hw;
  UC_ASSERT(shape.hw > 0 && shape.c > 0, "batchnorm: channels and hw must be positive");
  gpu::expect(in, count, "batchnorm_forward input");
  gpu::expect(out, count, "batchnorm_forward output");
  gpu::expect(scale, shape.c, "batchnorm_forward scale");
  gpu::expect(shift, shape.c, "batchnorm_forward shift");
  batchnorm_forward_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(
      out.data(), in.data(), scale.data(), shift.data(), count, shape.c, shape.hw);
  CUDA_CHECK_LAUNCH();
}

void batchnorm_backward_cuda(Context&, Tensor& din, const Tensor& dout, const Tensor& scale,
                             const ChannelShape& shape) {
  const int64_t count = int64_t(shape.n) * shape.c * shape.hw;
  UC_ASSERT(shape.hw > 0 && shape.c > 0, "batchnorm: channels and hw must be positive");
  gpu::expect(dout, count, "batchnorm_backward dout");
  gpu::expect(din, count, "batchnorm_backward din");
  gpu::expect(scale, shape.c, "batchnorm_backward scale");
  batchnorm_backward_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(
      din.data(), dout.data(), scale.data(), count, shape.c, shape.hw);
  CUDA_CHECK_LAUNCH();
}

}  // namespace uc
