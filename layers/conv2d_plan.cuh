// The convolution's per-shape plans: cuDNN descriptors and, per direction, the algorithm chosen
// on first use, kept with the context's CUDA state (Caffe's lifetimes: created on first sight of
// a shape, destroyed with the state). Used by layers/conv2d.cu only.
#pragma once
#include <map>
#include <memory>
#include <tuple>

#include "core/cuda_state.cuh"

namespace uc {

// The shape a plan is made for (ConvShape's fields, the math mode and the data's layout and type).
// nhwc: activations NHWC and filters KRSC (the inference fast path); else NCHW and KCRS.
// bf16: data, filters and bias in bfloat16 (forward only; MathMode::BF16's inference path).
struct ConvKey {
  int n, c, h, w, k, r, s, stride, pad;
  MathMode math;
  bool nhwc = false;
  bool bf16 = false;
  auto tie() const { return std::tie(n, c, h, w, k, r, s, stride, pad, math, nhwc, bf16); }
  bool operator<(const ConvKey& o) const { return tie() < o.tie(); }
};

// One direction of a convolution: its own descriptor, because the chosen algorithm may require
// a different cuDNN math type per direction.
template <typename Algo>
struct ConvDirection {
  cudnnConvolutionDescriptor_t conv = nullptr;
  Algo algo{};
  cudnnMathType_t math_type = CUDNN_DEFAULT_MATH;
  size_t workspace_bytes = 0;
  bool chosen = false;
};

struct ConvPlan {
  ConvPlan() = default;
  ~ConvPlan();
  ConvPlan(const ConvPlan&) = delete;
  ConvPlan& operator=(const ConvPlan&) = delete;

  ConvKey key{};
  // bias: FLOAT [1,k,1,1] in the key's layout; bias_bf16: the same in bf16 (bf16 plans only).
  cudnnTensorDescriptor_t x = nullptr, y = nullptr, bias = nullptr, bias_bf16 = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  ConvDirection<cudnnConvolutionFwdAlgo_t> fwd;
  ConvDirection<cudnnConvolutionBwdDataAlgo_t> bwd_data;
  ConvDirection<cudnnConvolutionBwdFilterAlgo_t> bwd_filter;
  size_t w_bytes = 0;  // filter size, for the scratch gradient used while searching
  // How cudnnConvolutionBiasActivationForward takes this shape and algorithm, learnt on first
  // use: with a float bias; (bf16 data) with a bf16 copy of it; or not at all (None), and the
  // layer then runs the convolution and bias + ReLU separately.
  enum class FusedBias { Float, Bf16, None } fused = FusedBias::Float;
  // Whether the fused call has been tried with IMPLICIT_PRECOMP_GEMM after it refused the
  // searched algorithm (conv2d.cu).
  bool fused_algo_tried = false;
};

// The plans of one CUDA state, in its conv_plans slot.
class ConvPlans : public CudaState::LayerCache {
 public:
  static ConvPlans& of(CudaState& state);  // made on first use

  // Descriptors for a shape, created on first use.
  ConvPlan& plan(const ConvKey& key);

  // Each direction's algorithm is chosen on its first call by timing cuDNN's candidates on that
  // call's buffers (cudnnFind*AlgorithmEx); the outputs written during the search are
  // overwritten by the real call. The filter gradient is searched into scratch memory because
  // the real one accumulates. A shape that differs from an already searched one only in batch
  // size (Score-CAM's last partial batch, the metric curves) reuses that algorithm instead of
  // searching again, when the searched batch is at least as large (an algorithm timed at batch
  // 1 may be a poor one at 32) and cuDNN accepts it for the new size.
  const ConvDirection<cudnnConvolutionFwdAlgo_t>& forward_algo(ConvPlan& p, const void* x,
                                                               const void* w, void* y);
  // Makes `algo` the forward algorithm when cuDNN accepts it for the plan's shape and its workspace
  // fits the search limit; false changes nothing.
  bool use_forward_algo(ConvPlan& p, cudnnConvolutionFwdAlgo_t algo);
  const ConvDirection<cudnnConvolutionBwdDataAlgo_t>& backward_data_algo(ConvPlan& p,
                                                                         const float* w,
                                                                         const float* dy,
                                                                         float* dx);
  const ConvDirection<cudnnConvolutionBwdFilterAlgo_t>& backward_filter_algo(ConvPlan& p,
                                                                             const float* x,
                                                                             const float* dy);

 private:
  explicit ConvPlans(CudaState& state) : state_(state) {}
  // A plan for the same convolution at a batch at least as large whose `direction` is chosen.
  template <typename Direction>
  const ConvPlan* searched_sibling(const ConvPlan& p, Direction ConvPlan::*direction) const;

  CudaState& state_;
  std::map<ConvKey, std::unique_ptr<ConvPlan>> plans_;
};

}  // namespace uc
