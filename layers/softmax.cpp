// Row-wise softmax on the CPU; the row maximum is subtracted first so large logits cannot
// overflow exp().
#include <algorithm>
#include <cmath>

#include "layers/layer_checks.h"
#include "layers/layers.h"
#ifdef UNIONCAM_CUDA
#include "layers/cuda_layers.h"
#endif

namespace uc {

void softmax_forward(Context& ctx, Tensor& out, const Tensor& in, int n, int classes) {
  UC_ASSERT(n > 0 && classes > 0, "softmax_forward: invalid n or classes");
  detail::expect_tensor(ctx, in, {n, classes}, "softmax_forward", "in");
  detail::expect_tensor(ctx, out, {n, classes}, "softmax_forward", "out");
#ifdef UNIONCAM_CUDA
  if (ctx.is_cuda()) return softmax_forward_cuda(ctx, out, in, n, classes);
#endif
  for (int r = 0; r < n; ++r) {
    const float* x = in.data() + int64_t(r) * classes;
    float* y = out.data() + int64_t(r) * classes;
    const float m = *std::max_element(x, x + classes);
    double sum = 0;
    for (int i = 0; i < classes; ++i) sum += (y[i] = std::exp(x[i] - m));
    const float inv = static_cast<float>(1.0 / sum);
    for (int i = 0; i < classes; ++i) y[i] *= inv;
  }
}

void softmax_backward(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& out, int n,
                      int classes) {
  UC_ASSERT(n > 0 && classes > 0, "softmax_backward: invalid n or classes");
  detail::expect_tensor(ctx, din, {n, classes}, "softmax_backward", "din");
  detail::expect_tensor(ctx, dout, {n, classes}, "softmax_backward", "dout");
  detail::expect_tensor(ctx, out, {n, classes}, "softmax_backward", "out");
#ifdef UNIONCAM_CUDA
  if (ctx.is_cuda()) return softmax_backward_cuda(ctx, din, dout, out, n, classes);
#endif
  for (int r = 0; r < n; ++r) {
    const float* dy = dout.data() + int64_t(r) * classes;
    const float* y = out.data() + int64_t(r) * classes;
    float* dx = din.data() + int64_t(r) * classes;
    double dot = 0;  // taken before dx is written, so dx may alias dy
    for (int i = 0; i < classes; ++i) dot += double(dy[i]) * y[i];
    for (int i = 0; i < classes; ++i) dx[i] = y[i] * (dy[i] - static_cast<float>(dot));
  }
}

}  // namespace uc
