// Layout conversion between NCHW and NHWC feature maps (and KCRS/KRSC filters).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/cuda_impl.h"
#include "layers/cuda_layers.h"
#include "layers/layer_checks.h"
#include "layers/layers.h"

namespace uc {

const char* layout_name(Layout layout) { return layout == Layout::NHWC ? "nhwc" : "nchw"; }

void convert_layout_host(float* out, Layout out_layout, const float* in, Layout in_layout, int n,
                         int c, int h, int w) {
  const int64_t hw = int64_t(h) * w, per_image = hw * c;
  for (int64_t img = 0; img < n; ++img) {
    const float* x = in + img * per_image;
    float* y = out + img * per_image;
    if (in_layout == out_layout) {
      std::copy(x, x + per_image, y);
    } else if (in_layout == Layout::NCHW) {  // -> NHWC
      for (int ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < hw; ++p) y[p * c + ch] = x[ch * hw + p];
    } else {  // NHWC -> NCHW
      for (int ch = 0; ch < c; ++ch)
        for (int64_t p = 0; p < hw; ++p) y[ch * hw + p] = x[p * c + ch];
    }
  }
}

void convert_layout(Context& ctx, Tensor& out, Layout out_layout, const Tensor& in,
                    Layout in_layout, int n, int c, int h, int w) {
  const Shape shape{n, c, h, w};
  detail::expect_tensor(ctx, in, shape, "convert_layout", "in");
  detail::expect_tensor(ctx, out, shape, "convert_layout", "out");
  UC_ASSERT(out.data() != in.data(), "convert_layout: out must not alias in");
  UC_CUDA_DISPATCH(ctx, convert_layout_cuda(ctx, out, out_layout, in, in_layout, n, c, h, w));
  convert_layout_host(out.data(), out_layout, in.data(), in_layout, n, c, h, w);
}

// The CPU versions are the reference for the CUDA kernels (nothing else runs bf16 on the CPU).
void convert_to_bf16_nhwc(Context& ctx, Tensor& out, const Tensor& in, int n, int c, int h, int w) {
  const Shape shape{n, c, h, w};
  detail::expect_tensor(ctx, in, shape, "convert_to_bf16_nhwc", "in");
  detail::expect_tensor(ctx, out, shape, "convert_to_bf16_nhwc", "out", DType::BF16);
  UC_CUDA_DISPATCH(ctx, convert_to_bf16_nhwc_cuda(ctx, out, in, n, c, h, w));
  std::vector<float> nhwc(static_cast<size_t>(in.numel()));
  convert_layout_host(nhwc.data(), Layout::NHWC, in.data(), Layout::NCHW, n, c, h, w);
  out.copy_from_host(nhwc.data(), in.numel());  // rounds
}

void convert_from_bf16_nhwc(Context& ctx, Tensor& out, const Tensor& in, int n, int c, int h,
                            int w) {
  const Shape shape{n, c, h, w};
  detail::expect_tensor(ctx, in, shape, "convert_from_bf16_nhwc", "in", DType::BF16);
  detail::expect_tensor(ctx, out, shape, "convert_from_bf16_nhwc", "out");
  UC_CUDA_DISPATCH(ctx, convert_from_bf16_nhwc_cuda(ctx, out, in, n, c, h, w));
  const std::vector<float> nhwc = in.to_host();  // widens
  convert_layout_host(out.data(), Layout::NCHW, nhwc.data(), Layout::NHWC, n, c, h, w);
}

}  // namespace uc
