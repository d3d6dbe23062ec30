#include "layers/conv2d_plan.cuh"

#include <algorithm>
#include <limits>
#include <string>

#include "core/cuda_launch.cuh"

namespace uc {

namespace {

// Largest workspace an algorithm may use; also capped by a quarter of the free device memory
// at the time of the search, so a search never starves the activations, and by half of what the
// user's --max-memory cap leaves (the search scratch and the adopted workspace coexist briefly).
constexpr size_t kMaxConvWorkspace = size_t(1) << 30;

size_t search_limit() {
  size_t free_b = 0, total_b = 0;
  CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  const size_t headroom = memory_headroom(Backend::CUDA);
  return std::min({kMaxConvWorkspace, free_b / 4, headroom / 2}) / gpu::kAlign * gpu::kAlign;
}

// fp32 keeps cuDNN to FMA kernels; tf32 (and bf16) let it pick tensor-core kernels: TF32 for
// float data, bf16 for bf16 data.
cudnnMathType_t initial_math(MathMode math) {
  return uses_tensor_cores(math) ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH;
}

// Find lists candidates fastest first; take the first that ran, fits the limit and respects the
// math mode (never a reduced-precision conversion; no tensor cores at all in fp32). Deterministic
// algorithms come first, so the same image gives the same gradients (and maps) on every run;
// some backward algorithms add with atomics in a varying order. Only when no deterministic one
// qualifies is a non-deterministic one taken.
template <typename Perf>
const Perf& pick(const Perf* perf, int count, size_t limit, MathMode math, const char* what) {
  for (const bool deterministic_only : {true, false}) {
    for (int i = 0; i < count; ++i) {
      const Perf& p = perf[i];
      const bool tensor_op =
          p.mathType == CUDNN_TENSOR_OP_MATH || p.mathType == CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION;
      const bool allowed = uses_tensor_cores(math)
                               ? p.mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION
                               : !tensor_op;
      const bool deterministic = p.determinism == CUDNN_DETERMINISTIC || !deterministic_only;
      if (p.status == CUDNN_STATUS_SUCCESS && p.memory <= limit && allowed && deterministic)
        return p;
    }
  }
  fail_device(std::string("cuDNN found no usable ") + what + " algorithm (" +
              std::to_string(count) + " candidates, workspace limit " +
              std::to_string(limit >> 20) + " MiB, math " + math_mode_name(math) + ")");
}

// Grows the shared workspace for d's algorithm and marks d chosen. If that fails (out of
// memory, or the --max-memory cap), the descriptor gets its initial math type back, so a later
// search is not confined to the math type of the algorithm that did not fit.
template <typename Algo>
void grow_workspace(ConvDirection<Algo>& d, MathMode math, CudaState& state) {
  try {
    state.workspace(d.workspace_bytes);
  } catch (...) {
    if (uses_tensor_cores(math)) cudnnSetConvolutionMathType(d.conv, initial_math(math));
    throw;
  }
  d.chosen = true;
}

// Shared tail of the three searches: adopt the algorithm, its math type (tf32 only; fp32 stays
// FMA) and its workspace, and grow the shared workspace now rather than during a later call.
template <typename Algo, typename Perf, typename SizeFn>
void adopt(ConvDirection<Algo>& d, const Perf& p, MathMode math, CudaState& state,
           SizeFn workspace_size) {
  if (uses_tensor_cores(math)) CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, p.mathType));
  size_t bytes = 0;
  CUDNN_CHECK(workspace_size(p.algo, &bytes));
  d.algo = p.algo;
  d.math_type = p.mathType;
  d.workspace_bytes = std::max(bytes, p.memory);
  grow_workspace(d, math, state);
}

// Adopts the algorithm `from` chose for another batch size when cuDNN accepts it for this shape
// (its workspace query succeeds and fits the search limit); false leaves d to a search.
template <typename Algo, typename SizeFn>
bool reuse(ConvDirection<Algo>& d, const ConvDirection<Algo>& from, MathMode math, CudaState& state,
           SizeFn workspace_size) {
  if (uses_tensor_cores(math) &&
      cudnnSetConvolutionMathType(d.conv, from.math_type) != CUDNN_STATUS_SUCCESS)
    return false;
  size_t bytes = 0;
  if (workspace_size(from.algo, &bytes) != CUDNN_STATUS_SUCCESS || bytes > search_limit()) {
    if (uses_tensor_cores(math))
      CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv, initial_math(math)));
    return false;
  }
  d.algo = from.algo;
  d.math_type = from.math_type;
  d.workspace_bytes = bytes;
  grow_workspace(d, math, state);
  return true;
}

bool same_but_batch(const ConvKey& a, const ConvKey& b) {
  ConvKey c = b;
  c.n = a.n;
  return !(a < c) && !(c < a);
}

}  // namespace

// Destructors must not throw, so destroy statuses are not checked here.
ConvPlan::~ConvPlan() {
  for (cudnnConvolutionDescriptor_t c : {fwd.conv, bwd_data.conv, bwd_filter.conv})
    if (c) cudnnDestroyConvolutionDescriptor(c);
  for (cudnnTensorDescriptor_t t : {x, y, bias, bias_bf16})
    if (t) cudnnDestroyTensorDescriptor(t);
  if (w) cudnnDestroyFilterDescriptor(w);
}

ConvPlans& ConvPlans::of(CudaState& state) {
  if (!state.conv_plans) state.conv_plans.reset(new ConvPlans(state));
  return static_cast<ConvPlans&>(*state.conv_plans);
}

ConvPlan& ConvPlans::plan(const ConvKey& key) {
  const auto found = plans_.find(key);
  if (found != plans_.end()) return *found->second;

  auto p = std::make_unique<ConvPlan>();  // owns whatever is created below, even on failure
  p->key = key;
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->x));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->y));
  CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->bias));
  CUDNN_CHECK(cudnnCreateFilterDescriptor(&p->w));
  const cudnnTensorFormat_t layout = key.nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW;
  // bf16 data (cuDNN's PSEUDO_BFLOAT16 configuration): x, w and y in bf16, computed in float
  // (the convolution descriptor's type below). The bias is described both ways, because the
  // fused call's documented bias type for this configuration is not settled (see conv2d.cu).
  const cudnnDataType_t type = key.bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->x, layout, type, key.n, key.c, key.h, key.w));
  CUDNN_CHECK(cudnnSetFilter4dDescriptor(p->w, type, layout, key.k, key.c, key.r, key.s));
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->bias, layout, CUDNN_DATA_FLOAT, 1, key.k, 1, 1));
  if (key.bf16) {
    CUDNN_CHECK(cudnnCreateTensorDescriptor(&p->bias_bf16));
    CUDNN_CHECK(
        cudnnSetTensor4dDescriptor(p->bias_bf16, layout, CUDNN_DATA_BFLOAT16, 1, key.k, 1, 1));
  }
  for (cudnnConvolutionDescriptor_t* c : {&p->fwd.conv, &p->bwd_data.conv, &p->bwd_filter.conv}) {
    CUDNN_CHECK(cudnnCreateConvolutionDescriptor(c));
    CUDNN_CHECK(cudnnSetConvolution2dDescriptor(*c, key.pad, key.pad, key.stride, key.stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CUDNN_CHECK(cudnnSetConvolutionMathType(*c, initial_math(key.math)));
  }
  int n = 0, k = 0, oh = 0, ow = 0;
  CUDNN_CHECK(cudnnGetConvolution2dForwardOutputDim(p->fwd.conv, p->x, p->w, &n, &k, &oh, &ow));
  UC_ASSERT(oh == (key.h + 2 * key.pad - key.r) / key.stride + 1 &&
                ow == (key.w + 2 * key.pad - key.s) / key.stride + 1,
            "cuDNN's convolution output size differs from ConvShape's");
  CUDNN_CHECK(cudnnSetTensor4dDescriptor(p->y, layout, type, n, k, oh, ow));
  p->w_bytes = size_t(key.k) * key.c * key.r * key.s * (key.bf16 ? 2 : sizeof(float));
  return *plans_.emplace(key, std::move(p)).first->second;
}

template <typename Direction>
const ConvPlan* ConvPlans::searched_sibling(const ConvPlan& p,
                                            Direction ConvPlan::*direction) const {
  for (const auto& [key, plan] : plans_)
    if (plan.get() != &p && (plan.get()->*direction).chosen && key.n >= p.key.n &&
        same_but_batch(key, p.key))
      return plan.get();
  return nullptr;
}

const ConvDirection<cudnnConvolutionFwdAlgo_t>& ConvPlans::forward_algo(ConvPlan& p, const void* x,
                                                                        const void* w, void* y) {
  if (p.fwd.chosen) return p.fwd;
  auto size = [&](cudnnConvolutionFwdAlgo_t a, size_t* bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(state_.cudnn, p.x, p.w, p.fwd.conv, p.y, a,
                                                   bytes);
  };
  if (const ConvPlan* sibling = searched_sibling(p, &ConvPlan::fwd))
    if (reuse(p.fwd, sibling->fwd, state_.math, state_, size)) return p.fwd;
  const size_t limit = search_limit();
  DeviceBuffer scratch;
  void* ws = scratch.reserve(limit);
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int count = 0;
  CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(state_.cudnn, p.x, x, p.w, w, p.fwd.conv, p.y,
                                                     y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count,
                                                     perf, ws, limit));
  adopt(p.fwd, pick(perf, count, limit, state_.math, "convolution forward"), state_.math, state_,
        size);
  return p.fwd;
}

bool ConvPlans::use_forward_algo(ConvPlan& p, cudnnConvolutionFwdAlgo_t algo) {
  size_t bytes = 0;
  if (cudnnGetConvolutionForwardWorkspaceSize(state_.cudnn, p.x, p.w, p.fwd.conv, p.y, algo,
                                              &bytes) != CUDNN_STATUS_SUCCESS ||
      bytes > search_limit())
    return false;
  state_.workspace(bytes);  // grown now, as for a searched algorithm
  p.fwd.algo = algo;
  p.fwd.workspace_bytes = bytes;
  return true;
}

const ConvDirection<cudnnConvolutionBwdDataAlgo_t>& ConvPlans::backward_data_algo(ConvPlan& p,
                                                                                  const float* w,
                                                                                  const float* dy,
                                                                                  float* dx) {
  if (p.bwd_data.chosen) return p.bwd_data;
  auto size = [&](cudnnConvolutionBwdDataAlgo_t a, size_t* bytes) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(state_.cudnn, p.w, p.y, p.bwd_data.conv,
                                                        p.x, a, bytes);
  };
  if (const ConvPlan* sibling = searched_sibling(p, &ConvPlan::bwd_data))
    if (reuse(p.bwd_data, sibling->bwd_data, state_.math, state_, size)) return p.bwd_data;
  const size_t limit = search_limit();
  DeviceBuffer scratch;
  void* ws = scratch.reserve(limit);
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int count = 0;
  CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
      state_.cudnn, p.w, w, p.y, dy, p.bwd_data.conv, p.x, dx,
      CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf, ws, limit));
  adopt(p.bwd_data, pick(perf, count, limit, state_.math, "convolution backward-data"), state_.math,
        state_, size);
  return p.bwd_data;
}

const ConvDirection<cudnnConvolutionBwdFilterAlgo_t>& ConvPlans::backward_filter_algo(
    ConvPlan& p, const float* x, const float* dy) {
  if (p.bwd_filter.chosen) return p.bwd_filter;
  auto size = [&](cudnnConvolutionBwdFilterAlgo_t a, size_t* bytes) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(state_.cudnn, p.x, p.y, p.bwd_filter.conv,
                                                          p.w, a, bytes);
  };
  if (const ConvPlan* sibling = searched_sibling(p, &ConvPlan::bwd_filter))
    if (reuse(p.bwd_filter, sibling->bwd_filter, state_.math, state_, size)) return p.bwd_filter;
  const size_t limit = search_limit();
  gpu::WorkspaceLayout layout;  // workspace, then a throwaway filter gradient
  const size_t work_at = layout.add<char>(limit), grad_at = layout.add<char>(p.w_bytes);
  DeviceBuffer scratch;
  void* base = scratch.reserve(layout.bytes());
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int count = 0;
  CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
      state_.cudnn, p.x, x, p.y, dy, p.bwd_filter.conv, p.w, layout.at<char>(base, grad_at),
      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf,
      limit ? layout.at<char>(base, work_at) : nullptr, limit));
  adopt(p.bwd_filter, pick(perf, count, limit, state_.math, "convolution backward-filter"),
        state_.math, state_, size);
  return p.bwd_filter;
}

}  // namespace uc
