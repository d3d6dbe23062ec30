// The CPU convolutions behind conv2d_forward/conv2d_backward (internal to layers/ and its
// tests). Same semantics as layers.h; the tensors are CPU tensors already checked there.
#pragma once
#include "layers/layers.h"

namespace uc::detail {

// im2col + OpenBLAS sgemm: the fallback when oneDNN is absent, and its reference in tests.
void conv2d_forward_im2col(Tensor& out, const Tensor& in, const Tensor& w, const Tensor& b,
                           const ConvShape& sh);
void conv2d_backward_im2col(Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                            const Tensor& in, const Tensor& w, const ConvShape& sh);

#ifdef UNIONCAM_DNNL
void conv2d_forward_dnnl(Tensor& out, const Tensor& in, const Tensor& w, const Tensor& b,
                         const ConvShape& sh);
void conv2d_backward_dnnl(Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout, const Tensor& in,
                          const Tensor& w, const ConvShape& sh);
#endif

}  // namespace uc::detail
