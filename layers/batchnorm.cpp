// Inference batchnorm on the CPU as a per-channel affine map, plus the host helpers that derive
// that map from the running statistics and fold it into the preceding convolution.
#include <cmath>

#include "core/cuda_impl.h"
#include "layers/cuda_layers.h"
#include "layers/layer_checks.h"
#include "layers/layers.h"

namespace uc {
namespace {

void check_channels(const Context& ctx, const char* op, const Tensor& scale,
                    const ChannelShape& sh) {
  UC_ASSERT(sh.n > 0 && sh.c > 0 && sh.hw > 0, std::string(op) + ": invalid ChannelShape");
  detail::expect_tensor(ctx, scale, {sh.c}, op, "scale");
}

}  // namespace

void batchnorm_scale_shift(const float* gamma, const float* beta, const float* mean,
                           const float* var, float eps, int channels, float* scale, float* shift) {
  for (int c = 0; c < channels; ++c) {
    const double s = double(gamma[c]) / std::sqrt(double(var[c]) + double(eps));
    scale[c] = static_cast<float>(s);
    shift[c] = static_cast<float>(double(beta[c]) - double(mean[c]) * s);
  }
}

void batchnorm_forward(Context& ctx, Tensor& out, const Tensor& in, const Tensor& scale,
                       const Tensor& shift, const ChannelShape& sh) {
  const char* op = "batchnorm_forward";
  check_channels(ctx, op, scale, sh);
  detail::expect_tensor(ctx, shift, {sh.c}, op, "shift");
  detail::expect_tensor(ctx, in, {sh.n, sh.c, sh.hw}, op, "in");
  detail::expect_tensor(ctx, out, {sh.n, sh.c, sh.hw}, op, "out");
  UC_CUDA_DISPATCH(ctx, batchnorm_forward_cuda(ctx, out, in, scale, shift, sh));
  const int64_t planes = int64_t(sh.n) * sh.c;
#pragma omp parallel for schedule(static) if (planes * sh.hw > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const float a = scale.data()[p % sh.c], b = shift.data()[p % sh.c];
    const float* x = in.data() + p * sh.hw;
    float* y = out.data() + p * sh.hw;
    for (int i = 0; i < sh.hw; ++i) y[i] = x[i] * a + b;
  }
}

void batchnorm_backward(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& scale,
                        const ChannelShape& sh) {
  const char* op = "batchnorm_backward";
  check_channels(ctx, op, scale, sh);
  detail::expect_tensor(ctx, dout, {sh.n, sh.c, sh.hw}, op, "dout");
  detail::expect_tensor(ctx, din, {sh.n, sh.c, sh.hw}, op, "din");
  UC_CUDA_DISPATCH(ctx, batchnorm_backward_cuda(ctx, din, dout, scale, sh));
  const int64_t planes = int64_t(sh.n) * sh.c;
#pragma omp parallel for schedule(static) if (planes * sh.hw > (1 << 16))
  for (int64_t p = 0; p < planes; ++p) {
    const float a = scale.data()[p % sh.c];
    const float* dy = dout.data() + p * sh.hw;
    float* dx = din.data() + p * sh.hw;
    for (int i = 0; i < sh.hw; ++i) dx[i] = dy[i] * a;
  }
}

void batchnorm_fold_into_conv(float* conv_w, float* conv_b, int k, int per_filter,
                              const float* scale, const float* shift) {
  UC_ASSERT(conv_w && conv_b,
            "batchnorm_fold_into_conv: the convolution needs a bias to fold into");
  for (int o = 0; o < k; ++o) {
    for (int i = 0; i < per_filter; ++i) conv_w[int64_t(o) * per_filter + i] *= scale[o];
    conv_b[o] = conv_b[o] * scale[o] + shift[o];
  }
}

}  // namespace uc
