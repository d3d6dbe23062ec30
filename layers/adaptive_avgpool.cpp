// Adaptive average pool on the CPU with PyTorch's bins: output i averages input rows
// [floor(i*h/oh), ceil((i+1)*h/oh)), likewise for columns. Bins may overlap (upsampling).
#include "core/cuda_impl.h"
#include "layers/cuda_layers.h"
#include "layers/layer_checks.h"
#include "layers/layers.h"

namespace uc {
namespace {

inline int bin_start(int i, int in, int out) { return int(int64_t(i) * in / out); }
inline int bin_end(int i, int in, int out) { return int((int64_t(i + 1) * in + out - 1) / out); }

void check_adaptive(const Context& ctx, const char* op, const Tensor& in, const char* in_role,
                    const Tensor& out, const char* out_role, const AdaptivePoolShape& sh) {
  UC_ASSERT(sh.n > 0 && sh.c > 0 && sh.h > 0 && sh.w > 0 && sh.out_h > 0 && sh.out_w > 0,
            std::string(op) + ": invalid AdaptivePoolShape");
  detail::expect_tensor(ctx, in, {sh.n, sh.c, sh.h, sh.w}, op, in_role);
  detail::expect_tensor(ctx, out, {sh.n, sh.c, sh.out_h, sh.out_w}, op, out_role);
}

// Calls fn(output index, h0, h1, w0, w1) for every bin of one plane: rows [h0, h1), columns [w0,
// w1).
template <typename Fn>
void for_each_bin(const AdaptivePoolShape& sh, Fn fn) {
  for (int i = 0; i < sh.out_h; ++i) {
    const int h0 = bin_start(i, sh.h, sh.out_h), h1 = bin_end(i, sh.h, sh.out_h);
    for (int j = 0; j < sh.out_w; ++j)
      fn(i * sh.out_w + j, h0, h1, bin_start(j, sh.w, sh.out_w), bin_end(j, sh.w, sh.out_w));
  }
}

}  // namespace

void adaptive_avgpool_forward(Context& ctx, Tensor& out, const Tensor& in,
                              const AdaptivePoolShape& sh) {
  check_adaptive(ctx, "adaptive_avgpool_forward", in, "in", out, "out", sh);
  UC_CUDA_DISPATCH(ctx, adaptive_avgpool_forward_cuda(ctx, out, in, sh));
  if (sh.h == sh.out_h && sh.w == sh.out_w) return out.copy_from(in);
  const int64_t planes = int64_t(sh.n) * sh.c;
#pragma omp parallel for schedule(static) if (planes * sh.h * sh.w > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const float* x = in.data() + p * sh.h * sh.w;
    float* y = out.data() + p * sh.out_h * sh.out_w;
    for_each_bin(sh, [&](int o, int h0, int h1, int w0, int w1) {
      float sum = 0.f;
      for (int a = h0; a < h1; ++a)
        for (int b = w0; b < w1; ++b) sum += x[a * sh.w + b];
      y[o] = sum / float((h1 - h0) * (w1 - w0));
    });
  }
}

void adaptive_avgpool_backward(Context& ctx, Tensor& din, const Tensor& dout,
                               const AdaptivePoolShape& sh) {
  check_adaptive(ctx, "adaptive_avgpool_backward", din, "din", dout, "dout", sh);
  UC_CUDA_DISPATCH(ctx, adaptive_avgpool_backward_cuda(ctx, din, dout, sh));
  if (sh.h == sh.out_h && sh.w == sh.out_w) return din.copy_from(dout);
  const int64_t planes = int64_t(sh.n) * sh.c;
  din.fill_zero();  // overlapping bins add up
#pragma omp parallel for schedule(static) if (planes * sh.h * sh.w > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const float* dy = dout.data() + p * sh.out_h * sh.out_w;
    float* dx = din.data() + p * sh.h * sh.w;
    for_each_bin(sh, [&](int o, int h0, int h1, int w0, int w1) {
      const float g = dy[o] / float((h1 - h0) * (w1 - w0));
      for (int a = h0; a < h1; ++a)
        for (int b = w0; b < w1; ++b) dx[a * sh.w + b] += g;
    });
  }
}

}  // namespace uc
