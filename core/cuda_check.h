// Status checks for CUDA, cuDNN and cuBLAS calls: a failure throws Error(Device) with the call,
// file:line and the library's own message. Only included by CUDA-enabled translation units.
#pragma once
#ifdef UNIONCAM_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <string>

#include "core/error.h"

namespace uc::detail {
[[noreturn]] inline void device_failure(const char* what, const char* call, const char* file,
                                        int line, const std::string& message) {
  fail_device(std::string(file) + ":" + std::to_string(line) + ": " + what + " call `" + call +
              "` failed: " + message);
}
const char* cublas_status_string(cublasStatus_t status);
}  // namespace uc::detail

#define CUDA_CHECK(call)                                              \
  do {                                                                \
    cudaError_t uc_status_ = (call);                                  \
    if (uc_status_ != cudaSuccess)                                    \
      ::uc::detail::device_failure("CUDA", #call, __FILE__, __LINE__, \
                                   cudaGetErrorString(uc_status_));   \
  } while (0)
#define CUDNN_CHECK(call)                                              \
  do {                                                                 \
    cudnnStatus_t uc_status_ = (call);                                 \
    if (uc_status_ != CUDNN_STATUS_SUCCESS)                            \
      ::uc::detail::device_failure("cuDNN", #call, __FILE__, __LINE__, \
                                   cudnnGetErrorString(uc_status_));   \
    UC_SYNC_IF_DEBUGGING();                                            \
  } while (0)
#define CUBLAS_CHECK(call)                                                          \
  do {                                                                              \
    cublasStatus_t uc_status_ = (call);                                             \
    if (uc_status_ != CUBLAS_STATUS_SUCCESS)                                        \
      ::uc::detail::device_failure("cuBLAS", #call, __FILE__, __LINE__,             \
                                   ::uc::detail::cublas_status_string(uc_status_)); \
    UC_SYNC_IF_DEBUGGING();                                                         \
  } while (0)
namespace uc::detail {
// UNIONCAM_CUDA_SYNC=1 in the environment: synchronize after every kernel launch, so that a fault
// inside a kernel (an illegal address, a trap) is reported at that launch and not at the next
// copy. Slow; for debugging and the first runs on a new machine.
bool sync_after_launch();
}  // namespace uc::detail

// With UNIONCAM_CUDA_SYNC=1, wait for the device after each kernel and each cuDNN/cuBLAS call,
// so that a fault inside a library kernel too is reported at its own call.
#define UC_SYNC_IF_DEBUGGING()                                                  \
  do {                                                                          \
    if (::uc::detail::sync_after_launch()) CUDA_CHECK(cudaDeviceSynchronize()); \
  } while (0)
// After a kernel launch: launch errors are reported at the launch site.
#define CUDA_CHECK_LAUNCH()         \
  do {                              \
    CUDA_CHECK(cudaGetLastError()); \
    UC_SYNC_IF_DEBUGGING();         \
  } while (0)
#endif
