// NCHW <-> NHWC conversion on the device: one thread per output element, so writes coalesce.
#include "core/cuda_launch.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

// Element conversions at either end (the identity, or float <-> bf16 rounding to nearest even).
__device__ float convert(float v, float) { return v; }
__device__ __nv_bfloat16 convert(float v, __nv_bfloat16) { return __float2bfloat16_rn(v); }
__device__ float convert(__nv_bfloat16 v, float) { return __bfloat162float(v); }

// Index: int when the maps allow it (gpu::with_index), since / and % per element cost less.
// The launches deduce the template arguments (In, Out, Index) from the arguments.
template <typename Index, typename In, typename Out>
__global__ void nchw_to_nhwc_kernel(Out* out, const In* in, Index count, int c, Index hw) {
  for (const Index i : gpu::grid_stride(count)) {
    const int ch = int(i % c);
    const Index p = i / c % hw, img = i / (c * hw);
    out[i] = convert(in[(img * c + ch) * hw + p], Out{});
  }
}

template <typename Index, typename In, typename Out>
__global__ void nhwc_to_nchw_kernel(Out* out, const In* in, Index count, int c, Index hw) {
  for (const Index i : gpu::grid_stride(count)) {
    const Index p = i % hw, img = i / (c * hw);
    const int ch = int(i / hw % c);
    out[i] = convert(in[(img * hw + p) * c + ch], Out{});
  }
}

// n maps of c x hw, NCHW -> NHWC (to_nhwc) or back, converting each element to Out.
template <typename In, typename Out>
void launch_conversion(bool to_nhwc, Out* out, const In* in, int64_t count, int c, int64_t hw) {
  gpu::with_index(count, [&](auto index) {
    using Index = decltype(index);
    const unsigned blocks = gpu::blocks_for(count);
    if (to_nhwc)
      nchw_to_nhwc_kernel<<<blocks, gpu::kThreads>>>(out, in, Index(count), c, Index(hw));
    else
      nhwc_to_nchw_kernel<<<blocks, gpu::kThreads>>>(out, in, Index(count), c, Index(hw));
  });
  CUDA_CHECK_LAUNCH();
}

}  // namespace

void convert_to_bf16_nhwc_cuda(Context&, Tensor& out, const Tensor& in, int n, int c, int h,
                               int w) {
  const int64_t hw = int64_t(h) * w, count = int64_t(n) * c * hw;
  gpu::expect(in, count, "convert_to_bf16_nhwc input");
  gpu::expect(out, count, "convert_to_bf16_nhwc output", DType::BF16);
  launch_conversion(true, gpu::bf16_data(out), in.data(), count, c, hw);  // rounds to bf16
}

void convert_from_bf16_nhwc_cuda(Context&, Tensor& out, const Tensor& in, int n, int c, int h,
                                 int w) {
  const int64_t hw = int64_t(h) * w, count = int64_t(n) * c * hw;
  gpu::expect(in, count, "convert_from_bf16_nhwc input", DType::BF16);
  gpu::expect(out, count, "convert_from_bf16_nhwc output");
  launch_conversion(false, out.data(), gpu::bf16_data(in), count, c, hw);
}

void convert_layout_cuda(Context&, Tensor& out, Layout out_layout, const Tensor& in,
                         Layout in_layout, int n, int c, int h, int w) {
  const int64_t hw = int64_t(h) * w, count = int64_t(n) * c * hw;
  if (in_layout == out_layout) {
    CUDA_CHECK(
        cudaMemcpyAsync(out.data(), in.data(), count * sizeof(float), cudaMemcpyDeviceToDevice));
    return;
  }
  launch_conversion(out_layout == Layout::NHWC, out.data(), in.data(), count, c, hw);
}

}  // namespace uc
