// Max-pool with hand-written kernels: the backward pass must send each window's gradient to its
// first maximal element (row-major), as PyTorch does, which cuDNN does not promise.
#include "core/cuda_launch.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

// Offset (from win) of a window's maximum: strict '>' keeps the first maximum, and a NaN counts
// as the maximum (the CPU rule), so once best is NaN it stays. dy and dx are the element strides
// of a window row and column. Forward and backward share it, so the backward's winner is the
// element the forward chose, whatever the caller's `out` holds.
template <typename T>
__device__ int64_t window_argmax(const T* win, int64_t dy, int64_t dx, int window) {
  int64_t arg = 0;
  float best = gpu::to_float(win[0]);
  for (int ky = 0; ky < window; ++ky)
    for (int kx = 0; kx < window; ++kx) {
      const int64_t at = ky * dy + kx * dx;
      const float v = gpu::to_float(win[at]);
      if (!isnan(best) && (v > best || isnan(v))) best = v, arg = at;
    }
  return arg;
}

// One thread per output element.
__global__ void maxpool_forward_kernel(float* out, const float* in, int64_t planes, int h, int w,
                                       int oh, int ow, int window, int stride) {
  const int64_t count = planes * oh * ow;
  for (const int64_t i : gpu::grid_stride(count)) {
    const int ox = int(i % ow), oy = int(i / ow % oh);
    const int64_t plane = i / (int64_t(oh) * ow);
    const float* win = in + plane * h * w + int64_t(oy) * stride * w + ox * stride;
    out[i] = win[window_argmax(win, w, 1, window)];
  }
}

// NHWC: one thread per output element, channels fastest, so neighbouring threads read
// neighbouring addresses. Same window order and NaN rule as the NCHW kernel. T: float, or bf16
// for MathMode::BF16's steps (the maximum is one of the inputs, so no rounding).
// Index: int when the input allows it (gpu::with_index), since / and % per element cost less.
template <typename Index, typename T>
__global__ void maxpool_forward_nhwc_kernel(T* out, const T* in, Index count, int c, int h, int w,
                                            int oh, int ow, int window, int stride) {
  for (const Index i : gpu::grid_stride(count)) {
    const int ch = int(i % c);
    const Index pixel = i / c;
    const int ox = int(pixel % ow), oy = int(pixel / ow % oh);
    const Index img = pixel / (Index(oh) * ow);
    const T* win = in + ((img * h + Index(oy) * stride) * w + Index(ox) * stride) * c + ch;
    out[i] = win[window_argmax(win, int64_t(w) * c, c, window)];
  }
}

template <typename T>
void launch_forward_nhwc(T* out, const T* in, const PoolShape& s) {
  const int oh = s.out_h(), ow = s.out_w();
  const int64_t count = int64_t(s.n) * s.c * oh * ow, in_count = int64_t(s.n) * s.c * s.h * s.w;
  gpu::with_index(in_count, [&](auto index) {  // the input is the larger
    using Index = decltype(index);
    maxpool_forward_nhwc_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(
        out, in, Index(count), s.c, s.h, s.w, oh, ow, s.window, s.stride);
  });
  CUDA_CHECK_LAUNCH();
}

// One thread per input element, gathering from the windows that contain it: each input is
// written exactly once (din is overwritten, uncovered borders get 0) and no atomics are needed.
// A window's winner is recomputed from `in` with the forward's rule (as the CPU does).
__global__ void maxpool_backward_kernel(float* din, const float* dout, const float* in,
                                        int64_t planes, int h, int w, int oh, int ow, int window,
                                        int stride) {
  const int64_t count = planes * h * w;
  for (const int64_t i : gpu::grid_stride(count)) {
    const int x = int(i % w), y = int(i / w % h);
    const int64_t plane = i / (int64_t(h) * w);
    const float* in_plane = in + plane * h * w;
    const int oy_lo = y < window ? 0 : (y - window) / stride + 1, oy_hi = min(y / stride, oh - 1);
    const int ox_lo = x < window ? 0 : (x - window) / stride + 1, ox_hi = min(x / stride, ow - 1);
    float grad = 0.f;
    for (int oy = oy_lo; oy <= oy_hi; ++oy)
      for (int ox = ox_lo; ox <= ox_hi; ++ox) {
        const int64_t corner = int64_t(oy) * stride * w + ox * stride;
        if (corner + window_argmax(in_plane + corner, w, 1, window) == int64_t(y) * w + x)
          grad += dout[(plane * oh + oy) * ow + ox];
      }
    din[i] = grad;
  }
}

void check_pool(const PoolShape& s) {
  UC_ASSERT(s.window > 0 && s.stride > 0 && s.h >= s.window && s.w >= s.window,
            "maxpool2d: window larger than the input or empty");
}

}  // namespace

void maxpool2d_forward_cuda(Context&, Tensor& out, const Tensor& in, const PoolShape& shape) {
  check_pool(shape);
  const int64_t planes = int64_t(shape.n) * shape.c;
  const int oh = shape.out_h(), ow = shape.out_w();
  gpu::expect(in, planes * shape.h * shape.w, "maxpool2d_forward input", in.dtype());
  gpu::expect(out, planes * oh * ow, "maxpool2d_forward output", in.dtype());
  if (shape.layout == Layout::NHWC) {
    if (in.dtype() == DType::BF16)
      return launch_forward_nhwc(gpu::bf16_data(out), gpu::bf16_data(in), shape);
    return launch_forward_nhwc(out.data(), in.data(), shape);
  }
  maxpool_forward_kernel<<<gpu::blocks_for(planes * oh * ow), gpu::kThreads>>>(
      out.data(), in.data(), planes, shape.h, shape.w, oh, ow, shape.window, shape.stride);
  CUDA_CHECK_LAUNCH();
}

void maxpool2d_backward_cuda(Context&, Tensor& din, const Tensor& dout, const Tensor& in,
                             const Tensor& out, const PoolShape& shape) {
  check_pool(shape);
  const int64_t planes = int64_t(shape.n) * shape.c;
  const int oh = shape.out_h(), ow = shape.out_w();
  gpu::expect(in, planes * shape.h * shape.w, "maxpool2d_backward input");
  gpu::expect(din, planes * shape.h * shape.w, "maxpool2d_backward din");
  gpu::expect(out, planes * oh * ow, "maxpool2d_backward out");
  gpu::expect(dout, planes * oh * ow, "maxpool2d_backward dout");
  maxpool_backward_kernel<<<gpu::blocks_for(planes * shape.h * shape.w), gpu::kThreads>>>(
      din.data(), dout.data(), in.data(), planes, shape.h, shape.w, oh, ow, shape.window,
      shape.stride);
  CUDA_CHECK_LAUNCH();
}

}  // namespace uc
