// Fully connected layer on the CPU through OpenBLAS; weights in PyTorch's [out, in] layout.

#include <algorithm>

#include "core/cuda_impl.h"
#include "layers/cuda_layers.h"
#include "layers/gemm.h"
#include "layers/layer_checks.h"
#include "layers/layers.h"

namespace uc {
namespace {

void check_linear(const Context& ctx, const char* op, const Tensor& in, const Tensor& w,
                  const Tensor& y, const char* y_role, const LinearShape& sh) {
  UC_ASSERT(sh.n > 0 && sh.in_features > 0 && sh.out_features > 0,
            std::string(op) + ": invalid LinearShape");
  detail::expect_tensor(ctx, in, {sh.n, sh.in_features}, op, "in");
  detail::expect_tensor(ctx, w, {sh.out_features, sh.in_features}, op, "w");
  detail::expect_tensor(ctx, y, {sh.n, sh.out_features}, op, y_role);
}

}  // namespace

void linear_forward(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w, const Tensor& b,
                    const LinearShape& sh) {
  check_linear(ctx, "linear_forward", in, w, out, "out", sh);
  detail::expect_tensor(ctx, b, {sh.out_features}, "linear_forward", "b");
  UC_CUDA_DISPATCH(ctx, linear_forward_cuda(ctx, out, in, w, b, sh));
  const int n = sh.n, fi = sh.in_features, fo = sh.out_features;
  for (int i = 0; i < n; ++i) std::copy(b.data(), b.data() + fo, out.data() + int64_t(i) * fo);
  // out[n, fo] += in[n, fi] . W[fo, fi]^T
  sgemm(false, true, n, fo, fi, 1.f, in.data(), fi, w.data(), fi, 1.f, out.data(), fo);
}

void linear_backward(Context& ctx, Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                     const Tensor& in, const Tensor& w, const LinearShape& sh) {
  const char* op = "linear_backward";
  check_linear(ctx, op, in, w, dout, "dout", sh);
  if (din) detail::expect_tensor(ctx, *din, {sh.n, sh.in_features}, op, "din");
  if (dw) detail::expect_tensor(ctx, *dw, {sh.out_features, sh.in_features}, op, "dw");
  if (db) detail::expect_tensor(ctx, *db, {sh.out_features}, op, "db");
  UC_CUDA_DISPATCH(ctx, linear_backward_cuda(ctx, din, dw, db, dout, in, w, sh));
  const int n = sh.n, fi = sh.in_features, fo = sh.out_features;
  if (din) {  // din[n, fi] = dout[n, fo] . W[fo, fi]
    sgemm(false, false, n, fi, fo, 1.f, dout.data(), fo, w.data(), fi, 0.f, din->data(), fi);
  }
  if (dw) {  // dW[fo, fi] += dout[n, fo]^T . in[n, fi]
    sgemm(true, false, fo, fi, n, 1.f, dout.data(), fo, in.data(), fi, 1.f, dw->data(), fi);
  }
  if (db) {
    for (int i = 0; i < n; ++i)
      for (int o = 0; o < fo; ++o) db->data()[o] += dout.data()[int64_t(i) * fo + o];
  }
}

}  // namespace uc
