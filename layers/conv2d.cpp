// conv2d: argument checks and dispatch. The CPU runs oneDNN when the build has it
// (layers/conv2d_dnnl.cpp), else the im2col + sgemm path defined here (layers/gemm.h): one image at
// a time and over blocks of output rows, so the column buffer stays cache-sized (a whole 224x224
// VGG layer would need 115 MB).
// im2col/col2im stay single-threaded on purpose: OpenMP workers spin-wait after each parallel
// region and starve OpenBLAS's own threads in the sgemm that follows (VGG16's convolutions ran
// 2.5x slower on 2 cores with them, 3-5x slower on a busy machine).

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/cuda_impl.h"
#include "layers/conv2d_cpu.h"
#include "layers/cuda_layers.h"
#include "layers/gemm.h"
#include "layers/layer_checks.h"

namespace uc {
namespace {

constexpr size_t kColBlockFloats = size_t(1) << 19;  // 2 MiB of columns per sgemm

// Output rows per block: as many as fit kColBlockFloats, at least one.
int rows_per_block(const ConvShape& sh) {
  const size_t row = size_t(sh.c) * sh.r * sh.s * sh.out_w();
  return std::max(1, static_cast<int>(std::min<size_t>(kColBlockFloats / row, sh.out_h())));
}

// Output columns [lo, hi) whose input column ow*stride - pad + kj lies inside [0, w).
void valid_cols(const ConvShape& sh, int kj, int* lo, int* hi) {
  const int first = sh.pad - kj, last = sh.w - 1 + sh.pad - kj;
  *hi = last < 0 ? 0 : std::min(sh.out_w(), last / sh.stride + 1);
  *lo = std::min(*hi, first <= 0 ? 0 : (first + sh.stride - 1) / sh.stride);
}

// col[(ci,ki,kj), (oh-oh0)*out_w + ow] = in[ci, oh*stride-pad+ki, ow*stride-pad+kj] (0 outside).
void im2col(const float* in, const ConvShape& sh, int oh0, int oh1, float* col) {
  const int ow = sh.out_w(), cols = (oh1 - oh0) * ow;
  for (int ci = 0; ci < sh.c; ++ci) {
    for (int ki = 0; ki < sh.r; ++ki) {
      for (int kj = 0; kj < sh.s; ++kj) {
        int lo, hi;
        valid_cols(sh, kj, &lo, &hi);
        float* dst = col + size_t((ci * sh.r + ki) * sh.s + kj) * cols;
        for (int oh = oh0; oh < oh1; ++oh, dst += ow) {
          const int ih = oh * sh.stride - sh.pad + ki;
          if (ih < 0 || ih >= sh.h || lo == hi) {
            std::memset(dst, 0, sizeof(float) * ow);
            continue;
          }
          const float* src = in + (size_t(ci) * sh.h + ih) * sh.w - sh.pad + kj;
          std::fill(dst, dst + lo, 0.f);
          if (sh.stride == 1) {
            std::memcpy(dst + lo, src + lo, sizeof(float) * (hi - lo));
          } else {
            for (int x = lo; x < hi; ++x) dst[x] = src[x * sh.stride];
          }
          std::fill(dst + hi, dst + ow, 0.f);
        }
      }
    }
  }
}

// The adjoint of im2col: din[ci, ih, iw] += col[...] over every column that read it.
void col2im_add(const float* col, const ConvShape& sh, int oh0, int oh1, float* din) {
  const int ow = sh.out_w(), cols = (oh1 - oh0) * ow;
  for (int ci = 0; ci < sh.c; ++ci) {
    for (int ki = 0; ki < sh.r; ++ki) {
      for (int kj = 0; kj < sh.s; ++kj) {
        int lo, hi;
        valid_cols(sh, kj, &lo, &hi);
        const float* src = col + size_t((ci * sh.r + ki) * sh.s + kj) * cols;
        for (int oh = oh0; oh < oh1; ++oh, src += ow) {
          const int ih = oh * sh.stride - sh.pad + ki;
          if (ih < 0 || ih >= sh.h) continue;
          float* dst = din + (size_t(ci) * sh.h + ih) * sh.w - sh.pad + kj;
          for (int x = lo; x < hi; ++x) dst[x * sh.stride] += src[x];
        }
      }
    }
  }
}

// Grow-only scratch, reused across calls and images so the hot loop never allocates.
float* scratch(std::vector<float>& buf, size_t n) {
  if (buf.size() < n) buf.resize(n);
  return buf.data();
}

// Element counts are the same in both layouts, so one check serves NCHW and NHWC.
void check_conv(const Context& ctx, const char* op, const Tensor& out, const char* out_role,
                const Tensor& in, const Tensor& w, const ConvShape& sh) {
  UC_ASSERT(sh.n > 0 && sh.c > 0 && sh.k > 0 && sh.r > 0 && sh.s > 0 && sh.stride > 0 &&
                sh.pad >= 0 && sh.out_h() > 0 && sh.out_w() > 0,
            std::string(op) + ": invalid ConvShape");
  const DType dtype = in.dtype();  // w and out alike
  UC_ASSERT(dtype == DType::F32 || sh.layout == Layout::NHWC,
            std::string(op) + ": bf16 data only runs NHWC");
  detail::expect_tensor(ctx, in, {sh.n, sh.c, sh.h, sh.w}, op, "in", dtype);
  detail::expect_tensor(ctx, w, {sh.k, sh.c, sh.r, sh.s}, op, "w", dtype);
  detail::expect_tensor(ctx, out, {sh.n, sh.k, sh.out_h(), sh.out_w()}, op, out_role, dtype);
}

}  // namespace

namespace detail {

void conv2d_forward_im2col(Tensor& out, const Tensor& in, const Tensor& w, const Tensor& b,
                           const ConvShape& sh) {
  thread_local std::vector<float> col_buf;
  const int ow = sh.out_w(), crs = sh.c * sh.r * sh.s, block = rows_per_block(sh);
  const int64_t ohw = int64_t(sh.out_h()) * ow;
  float* col = scratch(col_buf, size_t(crs) * block * ow);
  for (int img = 0; img < sh.n; ++img) {
    const float* x = in.data() + size_t(img) * sh.c * sh.h * sh.w;
    float* y = out.data() + size_t(img) * sh.k * ohw;
    for (int k = 0; k < sh.k; ++k) std::fill(y + k * ohw, y + (k + 1) * ohw, b.data()[k]);
    for (int oh0 = 0; oh0 < sh.out_h(); oh0 += block) {
      const int oh1 = std::min(sh.out_h(), oh0 + block), cols = (oh1 - oh0) * ow;
      im2col(x, sh, oh0, oh1, col);
      // y[:, block] += W[k, crs] . col[crs, cols]
      sgemm(false, false, sh.k, cols, crs, 1.f, w.data(), crs, col, cols, 1.f,
            y + int64_t(oh0) * ow, int(ohw));
    }
  }
}

void conv2d_backward_im2col(Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                            const Tensor& in, const Tensor& w, const ConvShape& sh) {
  thread_local std::vector<float> col_buf, dcol_buf;
  const int ow = sh.out_w(), crs = sh.c * sh.r * sh.s, block = rows_per_block(sh);
  const int64_t ohw = int64_t(sh.out_h()) * ow, in_size = int64_t(sh.c) * sh.h * sh.w;
  float* col = dw ? scratch(col_buf, size_t(crs) * block * ow) : nullptr;
  float* dcol = din ? scratch(dcol_buf, size_t(crs) * block * ow) : nullptr;
  if (din) din->fill_zero();  // col2im accumulates
  for (int img = 0; img < sh.n; ++img) {
    const float* x = in.data() + img * in_size;
    const float* dy = dout.data() + img * sh.k * ohw;
    if (db) {
      for (int k = 0; k < sh.k; ++k) {
        double sum = 0;  // VGG maps are 50k elements: keep the sum exact enough
        for (int64_t i = 0; i < ohw; ++i) sum += dy[k * ohw + i];
        db->data()[k] += static_cast<float>(sum);
      }
    }
    for (int oh0 = 0; oh0 < sh.out_h(); oh0 += block) {
      const int oh1 = std::min(sh.out_h(), oh0 + block), cols = (oh1 - oh0) * ow;
      const float* dy_blk = dy + int64_t(oh0) * ow;
      if (dw) {  // dW[k, crs] += dy[k, cols] . col[crs, cols]^T
        im2col(x, sh, oh0, oh1, col);
        sgemm(false, true, sh.k, crs, cols, 1.f, dy_blk, int(ohw), col, cols, 1.f, dw->data(), crs);
      }
      if (din) {  // dcol[crs, cols] = W[k, crs]^T . dy[k, cols], then scatter back
        sgemm(true, false, crs, cols, sh.k, 1.f, w.data(), crs, dy_blk, int(ohw), 0.f, dcol, cols);
        col2im_add(dcol, sh, oh0, oh1, din->data() + img * in_size);
      }
    }
  }
}

}  // namespace detail

void conv2d_forward(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w, const Tensor& b,
                    const ConvShape& sh) {
  check_conv(ctx, "conv2d_forward", out, "out", in, w, sh);
  UC_ASSERT(sh.layout == Layout::NCHW && in.dtype() == DType::F32,
            "conv2d_forward: NCHW float only (NHWC: conv2d_bias_relu_forward)");
  detail::expect_tensor(ctx, b, {sh.k}, "conv2d_forward", "b");
  UC_CUDA_DISPATCH(ctx, conv2d_forward_cuda(ctx, out, in, w, b, sh));
#ifdef UNIONCAM_DNNL
  detail::conv2d_forward_dnnl(out, in, w, b, sh);
#else
  detail::conv2d_forward_im2col(out, in, w, b, sh);
#endif
}

void conv2d_backward(Context& ctx, Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                     const Tensor& in, const Tensor& w, const ConvShape& sh) {
  const char* op = "conv2d_backward";
  check_conv(ctx, op, dout, "dout", in, w, sh);
  UC_ASSERT(sh.layout == Layout::NCHW && in.dtype() == DType::F32,
            "conv2d_backward: NCHW float only");
  if (din) detail::expect_tensor(ctx, *din, {sh.n, sh.c, sh.h, sh.w}, op, "din");
  if (dw) detail::expect_tensor(ctx, *dw, {sh.k, sh.c, sh.r, sh.s}, op, "dw");
  if (db) detail::expect_tensor(ctx, *db, {sh.k}, op, "db");
  UC_CUDA_DISPATCH(ctx, conv2d_backward_cuda(ctx, din, dw, db, dout, in, w, sh));
#ifdef UNIONCAM_DNNL
  detail::conv2d_backward_dnnl(din, dw, db, dout, in, w, sh);
#else
  detail::conv2d_backward_im2col(din, dw, db, dout, in, w, sh);
#endif
}

void conv2d_bias_relu_forward(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w,
                              const Tensor& b, const ConvShape& sh) {
  check_conv(ctx, "conv2d_bias_relu_forward", out, "out", in, w, sh);
  detail::expect_tensor(ctx, b, {sh.k}, "conv2d_bias_relu_forward", "b");  // float, also in bf16
  UC_CUDA_DISPATCH(ctx, conv2d_bias_relu_forward_cuda(ctx, out, in, w, b, sh));
  if (in.dtype() ==
      DType::BF16) {  // the CPU reference of the bf16 path: fp32 products, rounded once
    Tensor y = Tensor::empty(Backend::CPU, {sh.n, sh.out_h(), sh.out_w(), sh.k});
    conv2d_bias_relu_forward(
        ctx, y, Tensor::from_host(Backend::CPU, {sh.n, sh.h, sh.w, sh.c}, in.to_host()),
        Tensor::from_host(Backend::CPU, {sh.k, sh.r, sh.s, sh.c}, w.to_host()), b, sh);
    out.copy_from_host(y.data(), y.numel());  // rounds
    return;
  }
  if (sh.layout == Layout::NCHW) {
    conv2d_forward(ctx, out, in, w, b, sh);
    relu_forward(ctx, out, out);
    return;
  }
  // NHWC on the CPU is a reference for the CUDA path: through NCHW copies.
  ConvShape nchw = sh;
  nchw.layout = Layout::NCHW;
  Tensor in_nchw = Tensor::empty(Backend::CPU, {sh.n, sh.c, sh.h, sh.w});
  Tensor w_kcrs = Tensor::empty(Backend::CPU, {sh.k, sh.c, sh.r, sh.s});
  Tensor out_nchw = Tensor::empty(Backend::CPU, {sh.n, sh.k, sh.out_h(), sh.out_w()});
  convert_layout(ctx, in_nchw, Layout::NCHW, in, Layout::NHWC, sh.n, sh.c, sh.h, sh.w);
  convert_layout(ctx, w_kcrs, Layout::NCHW, w, Layout::NHWC, sh.k, sh.c, sh.r, sh.s);
  conv2d_forward(ctx, out_nchw, in_nchw, w_kcrs, b, nchw);
  relu_forward(ctx, out_nchw, out_nchw);
  convert_layout(ctx, out, Layout::NHWC, out_nchw, Layout::NCHW, sh.n, sh.k, sh.out_h(),
                 sh.out_w());
}

}  // namespace uc
