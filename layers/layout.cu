// NCHW <-> NHWC conversion on the device: one thread per output element, so writes coalesce.
#include "layers/cuda_common.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

__global__ void nchw_to_nhwc_kernel(float* out, const float* in, int64_t count, int c, int64_t hw) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int ch = int(i % c);
    const int64_t p = i / c % hw, img = i / (c * hw);
    out[i] = in[(img * c + ch) * hw + p];
  }
}

__global__ void nhwc_to_nchw_kernel(float* out, const float* in, int64_t count, int c, int64_t hw) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t p = i % hw, img = i / (c * hw);
    const int ch = int(i / hw % c);
    out[i] = in[(img * hw + p) * c + ch];
  }
}

}  // namespace

void convert_layout_cuda(Context&, Tensor& out, Layout out_layout, const Tensor& in,
                         Layout in_layout, int n, int c, int h, int w) {
  const int64_t hw = int64_t(h) * w, count = int64_t(n) * c * hw;
  if (in_layout == out_layout) {
    CUDA_CHECK(cudaMemcpyAsync(out.data(), in.data(), count * sizeof(float), cudaMemcpyDeviceToDevice));
    return;
  }
  if (out_layout == Layout::NHWC)
    nchw_to_nhwc_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(out.data(), in.data(), count, c, hw);
  else
    nhwc_to_nchw_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(out.data(), in.data(), count, c, hw);
  CUDA_CHECK_LAUNCH();
}

}  // namespace uc
