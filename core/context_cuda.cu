// The CUDA half of Context: handles and the shared workspace.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

#include "core/cuda_launch.cuh"
#include "core/cuda_state.cuh"

namespace uc {

void* DeviceBuffer::reserve(size_t bytes) {
  if (bytes <= bytes_) return ptr_;
  CUDA_CHECK(cudaFree(ptr_));
  note_device_allocation(-static_cast<std::ptrdiff_t>(bytes_));
  ptr_ = nullptr;
  bytes_ = 0;
  check_memory_limit(Backend::CUDA, bytes);
  const cudaError_t status = cudaMalloc(&ptr_, bytes);
  if (status != cudaSuccess) {
    cudaGetLastError();  // clear it so the caller may go on with smaller work
    ptr_ = nullptr;
    fail_out_of_memory("out of device memory: could not allocate a " + std::to_string(bytes >> 20) +
                       " MiB workspace (" + cudaGetErrorString(status) + ")");
  }
  bytes_ = bytes;
  note_device_allocation(static_cast<std::ptrdiff_t>(bytes));
  return ptr_;
}

CudaState::~CudaState() {
  conv_plans.reset();  // before the handles its descriptors were made with
  if (relu) cudnnDestroyActivationDescriptor(relu);
  if (fused_relu) cudnnDestroyActivationDescriptor(fused_relu);
  if (cublas) cublasDestroy(cublas);
  if (cudnn) cudnnDestroy(cudnn);
}

namespace detail {

CudaState* create_cuda_state(MathMode math) {
  auto state = std::make_unique<CudaState>();  // releases the handles if a later step fails
  state->math = math;
  CUDNN_CHECK(cudnnCreate(&state->cudnn));
  CUBLAS_CHECK(cublasCreate(&state->cublas));
  CUDNN_CHECK(cudnnCreateActivationDescriptor(&state->relu));
  // NaN passes through, as in the CPU ReLU and PyTorch.
  CUDNN_CHECK(
      cudnnSetActivationDescriptor(state->relu, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0.0));
  // The fused call as PyTorch, ONNX Runtime and oneDNN's cuDNN backend set it up
  // (NOT_PROPAGATE_NAN): the form its fused kernels are known to accept.
  CUDNN_CHECK(cudnnCreateActivationDescriptor(&state->fused_relu));
  CUDNN_CHECK(cudnnSetActivationDescriptor(state->fused_relu, CUDNN_ACTIVATION_RELU,
                                           CUDNN_NOT_PROPAGATE_NAN,
                                           std::numeric_limits<double>::max()));
  // CUBLAS_DEFAULT_MATH never uses TF32 for sgemm; TF32 must be asked for.
  CUBLAS_CHECK(cublasSetMathMode(
      state->cublas, uses_tensor_cores(math) ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  return state.release();
}

void destroy_cuda_state(CudaState* state) { delete state; }

const char* cublas_status_string(cublasStatus_t status) { return cublasGetStatusString(status); }

// Versions as "major.minor[.patch]" from the libraries' integer encodings.
std::string cuda_library_summary() {
  auto cuda_version = [](int v) {
    return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
  };
  auto cudnn_version = [](size_t v) {  // cuDNN 9: major * 10000 + minor * 100 + patch
    return std::to_string(v / 10000) + "." + std::to_string(v % 10000 / 100) + "." +
           std::to_string(v % 100);
  };
#ifndef UNIONCAM_CUDA_ARCHS
#define UNIONCAM_CUDA_ARCHS "?"
#endif
  std::string s = "cuda: built with CUDA " + cuda_version(CUDART_VERSION) +
                  " (code for sm_" UNIONCAM_CUDA_ARCHS "), cuDNN " + cudnn_version(CUDNN_VERSION) +
                  "; cuDNN found at run time: " + cudnn_version(cudnnGetVersion());
  int driver = 0;
  if (cudaDriverGetVersion(&driver) == cudaSuccess && driver > 0)
    s += ", driver supports CUDA " + cuda_version(driver);
  else
    s += ", no CUDA driver";
  s += "\n";
  if (!cuda_device_available())
    return s + "device: none usable (" + cuda_unavailable_reason() + ")\n";
  cudaDeviceProp prop{};
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  char memory[32];
  std::snprintf(memory, sizeof memory, "%.1f GiB", double(prop.totalGlobalMem) / (1 << 30));
  return s + "device: " + prop.name + ", compute capability " + std::to_string(prop.major) + "." +
         std::to_string(prop.minor) + ", " + memory + "\n";
}

bool sync_after_launch() {
  static const bool sync = [] {
    const char* v = std::getenv("UNIONCAM_CUDA_SYNC");
    return v != nullptr && *v != '\0' && std::string(v) != "0";
  }();
  return sync;
}

}  // namespace detail
}  // namespace uc
