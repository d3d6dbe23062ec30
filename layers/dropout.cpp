// Dropout at inference is the identity: a copy, or nothing when the output aliases the input.
// Tensor::copy_from works on either backend, so there is no separate CUDA version.
#include "layers/layer_checks.h"
#include "layers/layers.h"

namespace uc {

void dropout_forward(Context& ctx, Tensor& out, const Tensor& in) {
  detail::expect_tensor(ctx, out, in.shape(), "dropout_forward", "out");
  detail::expect_tensor(ctx, in, in.shape(), "dropout_forward", "in");
  out.copy_from(in);  // a no-op when out aliases in
}

void dropout_backward(Context& ctx, Tensor& din, const Tensor& dout) {
  detail::expect_tensor(ctx, din, dout.shape(), "dropout_backward", "din");
  detail::expect_tensor(ctx, dout, dout.shape(), "dropout_backward", "dout");
  din.copy_from(dout);
}

}  // namespace uc
