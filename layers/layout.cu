// NCHW <-> NHWC conversion on the device: one thread per output element, so writes coalesce.
#include "core/cuda_launch.cuh"
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

// NCHW float -> NHWC bf16 (round to nearest even) and back: the ends of the bf16 steps.
__global__ void nchw_to_bf16_nhwc_kernel(__nv_bfloat16* out, const float* in, int64_t count, int c,
                                         int64_t hw) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int ch = int(i % c);
    const int64_t p = i / c % hw, img = i / (c * hw);
    out[i] = __float2bfloat16_rn(in[(img * c + ch) * hw + p]);
  }
}

__global__ void bf16_nhwc_to_nchw_kernel(float* out, const __nv_bfloat16* in, int64_t count, int c,
                                         int64_t hw) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t p = i % hw, img = i / (c * hw);
    const int ch = int(i / hw % c);
    out[i] = __bfloat162float(in[(img * hw + p) * c + ch]);
  }
}

}  // namespace

void convert_to_bf16_nhwc_cuda(Context&, Tensor& out, const Tensor& in, int n, int c, int h,
                               int w) {
  const int64_t hw = int64_t(h) * w, count = int64_t(n) * c * hw;
  gpu::expect(in, count, "convert_to_bf16_nhwc input");
  gpu::expect(out, count, "convert_to_bf16_nhwc output", DType::BF16);
  nchw_to_bf16_nhwc_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(gpu::bf16_data(out),
                                                                      in.data(), count, c, hw);
  CUDA_CHECK_LAUNCH();
}

void convert_from_bf16_nhwc_cuda(Context&, Tensor& out, const Tensor& in, int n, int c, int h,
                                 int w) {
  const int64_t hw = int64_t(h) * w, count = int64_t(n) * c * hw;
  gpu::expect(in, count, "convert_from_bf16_nhwc input", DType::BF16);
  gpu::expect(out, count, "convert_from_bf16_nhwc output");
  bf16_nhwc_to_nchw_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(
      out.data(), gpu::bf16_data(in), count, c, hw);
  CUDA_CHECK_LAUNCH();
}

void convert_layout_cuda(Context&, Tensor& out, Layout out_layout, const Tensor& in,
                         Layout in_layout, int n, int c, int h, int w) {
  const int64_t hw = int64_t(h) * w, count = int64_t(n) * c * hw;
  if (in_layout == out_layout) {
    CUDA_CHECK(
        cudaMemcpyAsync(out.data(), in.data(), count * sizeof(float), cudaMemcpyDeviceToDevice));
    return;
  }
  if (out_layout == Layout::NHWC)
    nchw_to_nhwc_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(out.data(), in.data(), count, c,
                                                                   hw);
  else
    nhwc_to_nchw_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(out.data(), in.data(), count, c,
                                                                   hw);
  CUDA_CHECK_LAUNCH();
}

}  // namespace uc
