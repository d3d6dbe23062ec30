// Max-pool on the CPU. The backward pass recomputes each window's argmax from the input with
// PyTorch's rule (first maximum in row-major order; a NaN counts as the maximum).
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/cuda_impl.h"
#include "layers/cuda_layers.h"
#include "layers/layer_checks.h"
#include "layers/layers.h"

namespace uc {
namespace {

void check_pool(const Context& ctx, const char* op, const Tensor& in, const Tensor& out,
                const PoolShape& sh) {
  // The window must fit: out_h() alone is 1 for h < window (integer division rounds toward 0).
  UC_ASSERT(sh.n > 0 && sh.c > 0 && sh.window > 0 && sh.stride > 0 && sh.h >= sh.window &&
                sh.w >= sh.window,
            std::string(op) + ": invalid PoolShape (window larger than the input, or empty)");
  const DType dtype = in.dtype();  // out alike
  UC_ASSERT(dtype == DType::F32 || sh.layout == Layout::NHWC,
            std::string(op) + ": bf16 data only runs NHWC");
  detail::expect_tensor(ctx, in, {sh.n, sh.c, sh.h, sh.w}, op, "in", dtype);
  detail::expect_tensor(ctx, out, {sh.n, sh.c, sh.out_h(), sh.out_w()}, op, "out", dtype);
}

// Offset within the plane of the window's first maximal element.
inline int64_t window_argmax(const float* plane, const PoolShape& sh, int oh, int ow) {
  int64_t best = int64_t(oh * sh.stride) * sh.w + ow * sh.stride;
  for (int i = 0; i < sh.window; ++i) {
    const float* row = plane + int64_t(oh * sh.stride + i) * sh.w + ow * sh.stride;
    for (int j = 0; j < sh.window; ++j) {
      if (std::isnan(row[j])) return row + j - plane;
      if (row[j] > plane[best]) best = row + j - plane;
    }
  }
  return best;
}

}  // namespace

// NHWC: the same windows, visited in the same order, over channel-interleaved rows.
static void maxpool2d_forward_nhwc(float* y, const float* x, const PoolShape& sh) {
  const int oh = sh.out_h(), ow = sh.out_w(), c = sh.c;
  for (int img = 0; img < sh.n; ++img)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j)
        for (int ch = 0; ch < c; ++ch) {
          const float* win =
              x + ((int64_t(img) * sh.h + i * sh.stride) * sh.w + j * sh.stride) * c + ch;
          float best = win[0];
          for (int ki = 0; ki < sh.window && !std::isnan(best); ++ki)
            for (int kj = 0; kj < sh.window; ++kj) {
              const float v = win[(int64_t(ki) * sh.w + kj) * c];
              if (std::isnan(v)) {
                best = v;
                break;
              }
              if (v > best) best = v;
            }
          y[((int64_t(img) * oh + i) * ow + j) * c + ch] = best;
        }
}

void maxpool2d_forward(Context& ctx, Tensor& out, const Tensor& in, const PoolShape& sh) {
  check_pool(ctx, "maxpool2d_forward", in, out, sh);
  UC_CUDA_DISPATCH(ctx, maxpool2d_forward_cuda(ctx, out, in, sh));
  if (in.dtype() ==
      DType::BF16) {  // the CPU reference of the bf16 path; the maximum is one of the inputs: exact
    const std::vector<float> x = in.to_host();
    std::vector<float> y(size_t(sh.n) * sh.c * sh.out_h() * sh.out_w());
    maxpool2d_forward_nhwc(y.data(), x.data(), sh);
    out.copy_from_host(y.data(), int64_t(y.size()));
    return;
  }
  if (sh.layout == Layout::NHWC) return maxpool2d_forward_nhwc(out.data(), in.data(), sh);
  const int oh = sh.out_h(), ow = sh.out_w();
  const int64_t planes = int64_t(sh.n) * sh.c;
#pragma omp parallel for schedule(static) if (out.numel() > (1 << 14))
  for (int64_t p = 0; p < planes; ++p) {
    const float* x = in.data() + p * sh.h * sh.w;
    float* y = out.data() + p * oh * ow;
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) y[i * ow + j] = x[window_argmax(x, sh, i, j)];
  }
}

void maxpool2d_backward(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& in,
                        const Tensor& out, const PoolShape& sh) {
  check_pool(ctx, "maxpool2d_backward", in, out, sh);
  UC_ASSERT(sh.layout == Layout::NCHW, "maxpool2d_backward: NCHW only");
  detail::expect_tensor(ctx, din, in.shape(), "maxpool2d_backward", "din");
  detail::expect_tensor(ctx, dout, out.shape(), "maxpool2d_backward", "dout");
  UC_CUDA_DISPATCH(ctx, maxpool2d_backward_cuda(ctx, din, dout, in, out, sh));
  const int oh = sh.out_h(), ow = sh.out_w();
  const int64_t planes = int64_t(sh.n) * sh.c;
  din.fill_zero();  // overlapping windows (stride < window) add up
#pragma omp parallel for schedule(static) if (in.numel() > (1 << 14))
  for (int64_t p = 0; p < planes; ++p) {
    const float* x = in.data() + p * sh.h * sh.w;
    const float* dy = dout.data() + p * oh * ow;
    float* dx = din.data() + p * sh.h * sh.w;
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) dx[window_argmax(x, sh, i, j)] += dy[i * ow + j];
  }
}

}  // namespace uc
