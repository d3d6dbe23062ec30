// What a CUDA Context owns: the cuDNN and cuBLAS handles, one device workspace, and the caches
// layers keep with them (the convolution's per-shape plans: layers/conv2d_plan.cuh). Only CUDA
// translation units include it.
#pragma once
#include <cstddef>
#include <memory>

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

  // What a layer keeps with the state: made on first use, destroyed before the handles it was
  // made with (the convolution's plans, layers/conv2d_plan.cuh).
  struct LayerCache {
    virtual ~LayerCache() = default;
  };
  std::unique_ptr<LayerCache> conv_plans;

 private:
  DeviceBuffer workspace_;
};

}  // namespace uc
