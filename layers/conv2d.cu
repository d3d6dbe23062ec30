// conv2d on cuDNN: descriptors and algorithms come from the per-shape plans (conv2d_plan.cuh).
#include <cstdio>

#include "core/cuda_launch.cuh"
#include "layers/conv2d_plan.cuh"
#include "layers/cuda_layers.h"

namespace uc {

namespace {

const float kOne = 1.f, kZero = 0.f;

ConvKey key_of(const ConvShape& s, MathMode math, DType dtype) {
  return {s.n,
          s.c,
          s.h,
          s.w,
          s.k,
          s.r,
          s.s,
          s.stride,
          s.pad,
          math,
          s.layout == Layout::NHWC,
          dtype == DType::BF16};
}

int64_t in_numel(const ConvShape& s) { return int64_t(s.n) * s.c * s.h * s.w; }
int64_t w_numel(const ConvShape& s) { return int64_t(s.k) * s.c * s.r * s.s; }
int64_t out_numel(const ConvShape& s) { return int64_t(s.n) * s.k * s.out_h() * s.out_w(); }

// Said once per process and kind of plan (layout, data type): the fallback is correct but reads
// and writes the activations more often, which a benchmark should explain.
void note_fused_fallback(const ConvShape& s, bool bf16, cudnnStatus_t status) {
  static bool said[2][2] = {};
  bool& done = said[s.layout == Layout::NHWC][bf16];
  if (done) return;
  done = true;
  std::fprintf(stderr,
               "note: cuDNN has no fused convolution-bias-ReLU for %dx%dx%dx%d -> %d (%s%s, %s); "
               "such layers run as %s\n",
               s.n, s.c, s.h, s.w, s.k, s.layout == Layout::NHWC ? "NHWC" : "NCHW",
               bf16 ? " bf16" : "", cudnnGetErrorString(status),
               bf16 ? "a convolution and a bias-ReLU kernel" : "three calls");
}

// out = bf16(max(0, out + b[channel])) on NHWC bf16 maps (channels fastest): the bias and ReLU
// of a bf16 convolution when cuDNN has no fused form for it (b: float, bf16 values).
__global__ void bias_relu_bf16_nhwc_kernel(__nv_bfloat16* out, const float* b, int64_t count,
                                           int k) {
  for (const int64_t i : gpu::grid_stride(count)) {
    const float v = __bfloat162float(out[i]) + b[i % k];
    out[i] = __float2bfloat16_rn(v > 0.f ? v : 0.f);
  }
}

__global__ void float_to_bf16_kernel(__nv_bfloat16* out, const float* in, int n) {
  for (const int i : gpu::grid_stride<int>(n)) out[i] = __float2bfloat16_rn(in[i]);
}

}  // namespace

void conv2d_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w,
                         const Tensor& b, const ConvShape& shape) {
  gpu::expect(in, in_numel(shape), "conv2d_forward input");
  gpu::expect(w, w_numel(shape), "conv2d_forward weight");
  gpu::expect(out, out_numel(shape), "conv2d_forward output");
  if (b.defined()) gpu::expect(b, shape.k, "conv2d_forward bias");
  CudaState& st = ctx.cuda();
  ConvPlans& plans = ConvPlans::of(st);
  ConvPlan& p = plans.plan(key_of(shape, ctx.math(), DType::F32));
  const auto& a = plans.forward_algo(p, in.data(), w.data(), out.data());
  CUDNN_CHECK(cudnnConvolutionForward(st.cudnn, &kOne, p.x, in.data(), p.w, w.data(), a.conv,
                                      a.algo, st.workspace(a.workspace_bytes), a.workspace_bytes,
                                      &kZero, p.y, out.data()));
  if (b.defined())
    CUDNN_CHECK(cudnnAddTensor(st.cudnn, &kOne, p.bias, b.data(), &kOne, p.y, out.data()));
}

// One cuDNN call for convolution, bias and ReLU: the activations are read and written once
// instead of three times. alpha2 = 0, so z (required) may be the output itself. The bias is
// float in every configuration.
void conv2d_bias_relu_forward_cuda(Context& ctx, Tensor& out, const Tensor& in, const Tensor& w,
                                   const Tensor& b, const ConvShape& shape) {
  const DType dtype = in.dtype();
  const bool bf16 = dtype == DType::BF16;
  gpu::expect(in, in_numel(shape), "conv2d_bias_relu_forward input", dtype);
  gpu::expect(w, w_numel(shape), "conv2d_bias_relu_forward weight", dtype);
  gpu::expect(out, out_numel(shape), "conv2d_bias_relu_forward output", dtype);
  gpu::expect(b, shape.k, "conv2d_bias_relu_forward bias");
  CudaState& st = ctx.cuda();
  ConvPlans& plans = ConvPlans::of(st);
  ConvPlan& p = plans.plan(key_of(shape, ctx.math(), dtype));
  const auto& a = plans.forward_algo(p, in.raw_data(), w.raw_data(), out.raw_data());
  using FusedBias = ConvPlan::FusedBias;
  // Any refusal moves the plan to the next form. cuDNN 9 refuses with NOT_SUPPORTED or BAD_PARAM
  // sub-codes (3001..3014, ...) or, for runtime-fused kernels, a compilation failure; a real
  // device fault would surface again in the fallback's own checked calls.
  cudnnStatus_t status = CUDNN_STATUS_SUCCESS;
  const auto fused = [&](cudnnTensorDescriptor_t bias_desc, const void* bias, void* workspace) {
    status = cudnnConvolutionBiasActivationForward(
        st.cudnn, &kOne, p.x, in.raw_data(), p.w, w.raw_data(), a.conv, a.algo, workspace,
        a.workspace_bytes, &kZero, p.y, out.raw_data(), bias_desc, bias, st.fused_relu, p.y,
        out.raw_data());
    if (status != CUDNN_STATUS_SUCCESS) return false;
    UC_SYNC_IF_DEBUGGING();
    return true;
  };
  // The fused forms in order: a float bias, then (bf16 data) a bf16 copy of it.
  const auto try_fused = [&] {
    if (p.fused == FusedBias::Float) {
      if (fused(p.bias, b.data(), st.workspace(a.workspace_bytes))) return true;
      p.fused = bf16 ? FusedBias::Bf16 : FusedBias::None;
    }
    if (p.fused == FusedBias::Bf16) {  // the bias as bf16 too, converted into the workspace's tail
      gpu::WorkspaceLayout layout;
      const size_t work_at = layout.add<char>(a.workspace_bytes);
      const size_t bias_at = layout.add<__nv_bfloat16>(size_t(shape.k));
      void* ws = st.workspace(layout.bytes());
      auto* bias16 = layout.at<__nv_bfloat16>(ws, bias_at);
      float_to_bf16_kernel<<<gpu::blocks_for(shape.k), gpu::kThreads>>>(bias16, b.data(), shape.k);
      CUDA_CHECK_LAUNCH();
      if (fused(p.bias_bf16, bias16, a.workspace_bytes ? layout.at<char>(ws, work_at) : nullptr))
        return true;
      p.fused = FusedBias::None;
    }
    return false;
  };
  if (try_fused()) return;
  // cuDNN documents the fused call with ReLU for IMPLICIT_PRECOMP_GEMM only: when it refuses the
  // searched algorithm, that one is tried before the layer runs in parts for good (with the
  // searched algorithm back, which is the faster convolution).
  if (!p.fused_algo_tried) {
    p.fused_algo_tried = true;
    const ConvDirection<cudnnConvolutionFwdAlgo_t> searched = p.fwd;
    constexpr auto kFusable = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
    if (searched.algo != kFusable && plans.use_forward_algo(p, kFusable)) {
      p.fused = FusedBias::Float;
      if (try_fused()) return;
      p.fwd = searched;
    }
  }
  if (status != CUDNN_STATUS_SUCCESS)
    note_fused_fallback(shape, bf16, status);  // the first refusal only
  if (bf16) {  // the convolution, then bias and ReLU in one kernel of our own
    CUDNN_CHECK(cudnnConvolutionForward(st.cudnn, &kOne, p.x, in.raw_data(), p.w, w.raw_data(),
                                        a.conv, a.algo, st.workspace(a.workspace_bytes),
                                        a.workspace_bytes, &kZero, p.y, out.raw_data()));
    const int64_t count = out_numel(shape);
    bias_relu_bf16_nhwc_kernel<<<gpu::blocks_for(count), gpu::kThreads>>>(gpu::bf16_data(out),
                                                                          b.data(), count, shape.k);
    CUDA_CHECK_LAUNCH();
    return;
  }
  conv2d_forward_cuda(ctx, out, in, w, b, shape);  // the same plan: any layout
  CUDNN_CHECK(
      cudnnActivationForward(st.cudnn, st.relu, &kOne, p.y, out.data(), &kZero, p.y, out.data()));
}

void conv2d_backward_cuda(Context& ctx, Tensor* din, Tensor* dw, Tensor* db, const Tensor& dout,
                          const Tensor& in, const Tensor& w, const ConvShape& shape) {
  if (!din && !dw && !db) return;
  gpu::expect(dout, out_numel(shape), "conv2d_backward dout");
  if (din) gpu::expect(w, w_numel(shape), "conv2d_backward weight");
  if (din) gpu::expect(*din, in_numel(shape), "conv2d_backward din");
  if (dw) gpu::expect(in, in_numel(shape), "conv2d_backward input");
  if (dw) gpu::expect(*dw, w_numel(shape), "conv2d_backward dw");
  if (db) gpu::expect(*db, shape.k, "conv2d_backward db");
  CudaState& st = ctx.cuda();
  ConvPlans& plans = ConvPlans::of(st);
  ConvPlan& p = plans.plan(key_of(shape, ctx.math(), DType::F32));
  if (din) {
    const auto& a = plans.backward_data_algo(p, w.data(), dout.data(), din->data());
    CUDNN_CHECK(cudnnConvolutionBackwardData(st.cudnn, &kOne, p.w, w.data(), p.y, dout.data(),
                                             a.conv, a.algo, st.workspace(a.workspace_bytes),
                                             a.workspace_bytes, &kZero, p.x, din->data()));
  }
  if (dw) {  // beta = 1: parameter gradients accumulate
    const auto& a = plans.backward_filter_algo(p, in.data(), dout.data());
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(st.cudnn, &kOne, p.x, in.data(), p.y, dout.data(),
                                               a.conv, a.algo, st.workspace(a.workspace_bytes),
                                               a.workspace_bytes, &kOne, p.w, dw->data()));
  }
  if (db)
    CUDNN_CHECK(
        cudnnConvolutionBackwardBias(st.cudnn, &kOne, p.y, dout.data(), &kOne, p.bias, db->data()));
}

}  // namespace uc
