// CUDA implementations behind the dispatching functions of layers/layers.h (same signatures,
// same semantics), defined in layers/<op>.cu; ops reach them through UC_CUDA_DISPATCH
// (core/cuda_impl.h), so CPU-only builds reference none of them.
#pragma once
#include "layers/layers.h"

namespace uc {
void conv2d_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w,
                         const Tensor& b, const ConvShape& shape);
void conv2d_backward_cuda(Context& ctx, Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                          const Tensor& in, const Tensor& w, const ConvShape& shape);
void conv2d_bias_relu_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w,
                                   const Tensor& b, const ConvShape& shape);
void convert_layout_cuda(Context& ctx, Tensor& out, Layout out_layout, const Tensor& in,
                         Layout in_layout, int n, int c, int h, int w);
void convert_to_bf16_nhwc_cuda(Context& ctx, Tensor& out, const Tensor& in, int n, int c, int h,
                               int w);
void convert_from_bf16_nhwc_cuda(Context& ctx, Tensor& out, const Tensor& in, int n, int c, int h,
                                 int w);
void relu_forward_cuda(Context& ctx, Tensor& out, const Tensor& in);
void relu_backward_cuda(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& out);
void maxpool2d_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, const PoolShape& shape);
void maxpool2d_backward_cuda(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& in,
                             const Tensor& out, const PoolShape& shape);
void adaptive_avgpool_forward_cuda(Context& ctx, Tensor& out, const Tensor& in,
                                   const AdaptivePoolShape& shape);
void adaptive_avgpool_backward_cuda(Context& ctx, Tensor& din, const Tensor& dout,
                                    const AdaptivePoolShape& shape);
void linear_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w,
                         const Tensor& b, const LinearShape& shape);
void linear_backward_cuda(Context& ctx, Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                          const Tensor& in, const Tensor& w, const LinearShape& shape);
void batchnorm_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, const Tensor& scale,
                            const Tensor& shift, const ChannelShape& shape);
void batchnorm_backward_cuda(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& scale,
                             const ChannelShape& shape);
void softmax_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, int n, int classes);
void softmax_backward_cuda(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& out, int n,
                           int classes);
}  // namespace uc
