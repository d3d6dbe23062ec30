// ReLU on the CPU: elementwise, in place allowed.
#include <cmath>

#include "core/cuda_impl.h"
#include "layers/cuda_layers.h"
#include "layers/layer_checks.h"
#include "layers/layers.h"

namespace uc {

void relu_forward(Context& ctx, Tensor& out, const Tensor& in) {
  detail::expect_tensor(ctx, out, in.shape(), "relu_forward", "out");
  detail::expect_tensor(ctx, in, in.shape(), "relu_forward", "in");
  UC_CUDA_DISPATCH(ctx, relu_forward_cuda(ctx, out, in));
  const float* x = in.data();
  float* y = out.data();
  const int64_t n = in.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < 0.f ? 0.f : x[i];  // NaN passes, as in PyTorch
}

void relu_backward(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& out) {
  detail::expect_tensor(ctx, din, out.shape(), "relu_backward", "din");
  detail::expect_tensor(ctx, dout, out.shape(), "relu_backward", "dout");
  detail::expect_tensor(ctx, out, out.shape(), "relu_backward", "out");
  UC_CUDA_DISPATCH(ctx, relu_backward_cuda(ctx, din, dout, out));
  const float* dy = dout.data();
  const float* y = out.data();
  float* dx = din.data();
  const int64_t n = out.numel();
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) dx[i] = y[i] > 0.f ? dy[i] : 0.f;
}

}  // namespace uc
