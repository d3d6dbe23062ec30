// What a CUDA Context owns: the cuDNN and cuBLAS handles, one device workspace, and the
// per-shape convolution plans (descriptors + algorithms, chosen once, Caffe's lifetimes: created
// on first sight of a shape, destroyed with the state). Only CUDA translation units include it.
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <tuple>

#include "core/context.h"
#include "core/cuda_check.h"
#include "core/tensor.h"

namespace uc {

// A device allocation owned by one object; grows, never shrinks. Counted with Tensor storage
// (note_device_allocation) so peak_allocated_bytes includes the cuDNN workspace.
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() {  // no throwing from a destructor; the pointer is ours
    cudaFree(ptr_);
    note_device_allocation(-static_cast<std::ptrdiff_t>(bytes_));
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void* reserve(size_t bytes);  // at least `bytes`; reallocates only to grow

 private:
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

// Plain fields rather than layers' ConvShape: the runtime floor does not include layers/.
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
};

struct CudaState {
  CudaState() = default;
  ~CudaState();
  CudaState(const CudaState&) = delete;
  CudaState& operator=(const CudaState&) = delete;

  MathMode math = MathMode::FP32;
  cudnnHandle_t cudnn = nullptr;
  cublasHandle_t cublas = nullptr;
  cudnnActivationDescriptor_t relu = nullptr;        // ReLU on its own (NaN passes, as on the CPU)
  cudnnActivationDescriptor_t fused_relu = nullptr;  // for cudnnConvolutionBiasActivationForward

  // The shared workspace, grown to the largest need seen so far. Growing frees the old buffer,
  // and cudaFree waits for the device, so no queued kernel still uses it.
  void* workspace(size_t bytes) { return bytes ? workspace_.reserve(bytes) : nullptr; }

  // Descriptors for a shape, created on first use.
  ConvPlan& conv_plan(const ConvKey& key);
  // A plan for the same convolution at another batch size whose `direction` is chosen, or null.
  template <typename Direction>
  const ConvPlan* searched_sibling(const ConvPlan& p, Direction ConvPlan::*direction) const;

  // Each direction's algorithm is chosen on its first call by timing cuDNN's candidates on that
  // call's buffers (cudnnFind*AlgorithmEx); the outputs written during the search are
  // overwritten by the real call. The filter gradient is searched into scratch memory because
  // the real one accumulates. A shape that differs from an already searched one only in batch
  // size (Score-CAM's last partial batch, the metric curves) reuses that algorithm instead of
  // searching again, when cuDNN accepts it for the new size.
  const ConvDirection<cudnnConvolutionFwdAlgo_t>& forward_algo(ConvPlan& p, const void* x,
                                                               const void* w, void* y);
  const ConvDirection<cudnnConvolutionBwdDataAlgo_t>& backward_data_algo(ConvPlan& p,
                                                                         const float* w,
                                                                         const float* dy,
                                                                         float* dx);
  const ConvDirection<cudnnConvolutionBwdFilterAlgo_t>& backward_filter_algo(ConvPlan& p,
                                                                             const float* x,
                                                                             const float* dy);

 private:
  DeviceBuffer workspace_;
  std::map<ConvKey, std::unique_ptr<ConvPlan>> conv_plans_;
};

}  // namespace uc
