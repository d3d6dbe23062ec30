// Layers as free functions, outputs first, shapes explicit (llm.c style). Every function
// dispatches on ctx.backend(): the CPU implementation (layers/<op>.cpp) is the reference; the
// CUDA one (layers/<op>.cu, cuDNN/cuBLAS or hand-written kernels) follows the same semantics.
// Tensors are float32 on the context's backend (bf16 where a function says so), NCHW unless a
// shape says otherwise: the
// inference fast path (conv2d_bias_relu_forward, maxpool2d_forward, convert_layout) also runs
// NHWC, the layout of cuDNN's fastest tensor-core convolutions (GPU.md).
// Parameter gradients accumulate (+=); input gradients overwrite. Null gradient pointers are
// simply not computed.
#pragma once
#include <cstdint>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"

namespace uc {

// Memory order of feature maps: NCHW, or NHWC with filters [k,r,s,c] (KRSC).
enum class Layout { NCHW, NHWC };
const char* layout_name(Layout layout);

// ---- conv2d: in [n,c,h,w], w [k,c,r,s], b [k] -> out [n,k,out_h,out_w] -----------------------
struct ConvShape {
  int n = 1, c = 0, h = 0, w = 0;  // input
  int k = 0;                       // output channels
  int r = 3, s = 3;                // filter height, width (KCRS)
  int stride = 1, pad = 1;
  Layout layout = Layout::NCHW;  // NHWC: only conv2d_bias_relu_forward
  int out_h() const { return (h + 2 * pad - r) / stride + 1; }
  int out_w() const { return (w + 2 * pad - s) / stride + 1; }
};
void conv2d_forward(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w, const Tensor& b,
                    const ConvShape& shape);
void conv2d_backward(Context& ctx, Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                     const Tensor& in, const Tensor& w, const ConvShape& shape);
// Inference: out = relu(conv2d(in, w) + b) in one call, in either layout (NHWC: in [n,h,w,c],
// w [k,r,s,c], out [n,out_h,out_w,k]). CUDA: cuDNN's fused convolution-bias-activation. CPU: the
// convolution then ReLU; NHWC there is a reference that converts through NCHW. A NaN reaching
// the ReLU stays NaN on the CPU (and in the CUDA three-call fallback) but becomes 0 in cuDNN's
// fused call, which is only known to accept CUDNN_NOT_PROPAGATE_NAN; finite inputs agree.
// In, w and out may be BF16 together (NHWC only: MathMode::BF16's steps; b stays F32, holding
// bf16-rounded values), computed in fp32 and rounded once.
void conv2d_bias_relu_forward(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w,
                              const Tensor& b, const ConvShape& shape);

// ---- layout conversion of n feature maps of c x h x w (out must not alias in) ----------------
void convert_layout(Context& ctx, Tensor& out, Layout out_layout, const Tensor& in,
                    Layout in_layout, int n, int c, int h, int w);
// The same on host arrays (filters: n = k, h x w = r x s).
void convert_layout_host(float* out, Layout out_layout, const float* in, Layout in_layout, int n,
                         int c, int h, int w);

// ---- bfloat16 storage: MathMode::BF16's fused inference steps --------------------------------
// NCHW F32 feature maps -> NHWC BF16 (rounded), and back: the two ends of the bf16 steps.
void convert_to_bf16_nhwc(Context& ctx, Tensor& out, const Tensor& in, int n, int c, int h, int w);
void convert_from_bf16_nhwc(Context& ctx, Tensor& out, const Tensor& in, int n, int c, int h,
                            int w);

// ---- relu (elementwise, any shape; out may alias in) -----------------------------------------
void relu_forward(Context& ctx, Tensor& out, const Tensor& in);
// din = dout * (out > 0); din may alias dout.
void relu_backward(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& out);

// ---- max-pool (window x window, stride, no padding, floor) ----------------------------------
struct PoolShape {
  int n = 1, c = 0, h = 0, w = 0;
  int window = 2, stride = 2;    // window x window
  Layout layout = Layout::NCHW;  // NHWC: forward only, where in and out may be BF16 (exact)
  int out_h() const { return (h - window) / stride + 1; }
  int out_w() const { return (w - window) / stride + 1; }
};
void maxpool2d_forward(Context& ctx, Tensor& out, const Tensor& in, const PoolShape& shape);
// The gradient of each window goes to its first maximal element (row-major), as PyTorch does.
void maxpool2d_backward(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& in,
                        const Tensor& out, const PoolShape& shape);

// ---- adaptive average pool to (out_h, out_w), PyTorch's bin rule ----------------------------
// bin i covers [floor(i*h/out_h), ceil((i+1)*h/out_h)). Identity copy when sizes match.
struct AdaptivePoolShape {
  int n = 1, c = 0, h = 0, w = 0;
  int out_h = 7, out_w = 7;
};
void adaptive_avgpool_forward(Context& ctx, Tensor& out, const Tensor& in,
                              const AdaptivePoolShape& shape);
void adaptive_avgpool_backward(Context& ctx, Tensor& din, const Tensor& dout,
                               const AdaptivePoolShape& shape);

// ---- linear: in [n,in_f], w [out_f,in_f] (PyTorch layout), b [out_f] -> out [n,out_f] --------
struct LinearShape {
  int n = 1, in_features = 0, out_features = 0;
};
void linear_forward(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w, const Tensor& b,
                    const LinearShape& shape);
void linear_backward(Context& ctx, Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                     const Tensor& in, const Tensor& w, const LinearShape& shape);

// ---- dropout: identity at inference (copy unless out aliases in) ----------------------------
void dropout_forward(Context& ctx, Tensor& out, const Tensor& in);
void dropout_backward(Context& ctx, Tensor& din, const Tensor& dout);

// ---- batchnorm (inference): out = in * scale[c] + shift[c] ----------------------------------
// scale = gamma / sqrt(var + eps), shift = beta - mean * scale (see batchnorm_scale_shift).
struct ChannelShape {
  int n = 1, c = 0, hw = 0;  // hw = h*w (1 after a linear layer)
};
void batchnorm_scale_shift(const float* gamma, const float* beta, const float* mean,
                           const float* var, float eps, int channels, float* scale, float* shift);
void batchnorm_forward(Context& ctx, Tensor& out, const Tensor& in, const Tensor& scale,
                       const Tensor& shift, const ChannelShape& shape);
void batchnorm_backward(Context& ctx, Tensor& din, const Tensor& dout, const Tensor& scale,
                        const ChannelShape& shape);
// Folds an inference batchnorm into the preceding convolution's weights [k,c,r,s] and bias [k]
// (host arrays, in place): conv then BN == conv with folded weights.
void batchnorm_fold_into_conv(float* conv_w, float* conv_b, int k, int per_filter,
                              const float* scale, const float* shift);

// ---- softmax of one row of logits (host) ------------------------------------------------------
// In double, the row's maximum subtracted first so large logits cannot overflow exp(). The CPU's
// one softmax: predictions, the explained class's probability and the CPU class scores of the
// masked forwards use it; cam/ops.cu's class-score kernel is the CUDA one.
std::vector<double> softmax(const float* logits, int count);

}  // namespace uc
