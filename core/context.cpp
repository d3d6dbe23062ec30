#include "core/context.h"

#include "core/error.h"
#ifdef UNIONCAM_CUDA
#include "core/cuda_check.h"
#endif

namespace uc {

#ifdef UNIONCAM_CUDA
namespace detail {
// runtime/context_cuda.cu: handles, workspace and algorithm cache live there.
CudaState* create_cuda_state(MathMode math);
void destroy_cuda_state(CudaState* state);
std::string cuda_library_summary();  // "cuda: ..." and "device: ..." lines
}  // namespace detail
#endif

const char* math_mode_name(MathMode m) {
  switch (m) {
    case MathMode::FP32: return "fp32";
    case MathMode::TF32: return "tf32";
    case MathMode::BF16: return "bf16";
  }
  return "?";
}

MathMode parse_math_mode(const std::string& name) {
  if (name == "fp32") return MathMode::FP32;
  if (name == "tf32") return MathMode::TF32;
  if (name == "bf16") return MathMode::BF16;
  fail_usage("unknown precision '" + name + "': expected fp32, tf32 or bf16");
}

bool cuda_compiled() {
#ifdef UNIONCAM_CUDA
  return true;
#else
  return false;
#endif
}

const std::string& cuda_unavailable_reason() {
#ifdef UNIONCAM_CUDA
  static const std::string reason = [] {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      cudaGetLastError();
      return std::string("cudaGetDeviceCount: ") + cudaGetErrorString(status);
    }
    return std::string(count > 0 ? "" : "no CUDA device");
  }();
#else
  static const std::string reason = "built without CUDA";
#endif
  return reason;
}

bool cuda_device_available() { return cuda_unavailable_reason().empty(); }

std::string cuda_device_name() {
#ifdef UNIONCAM_CUDA
  if (!cuda_device_available()) return "";
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) return "";
  return prop.name;
#else
  return "";
#endif
}

#ifndef UNIONCAM_VERSION
#define UNIONCAM_VERSION "unknown"
#endif
const char* version() { return UNIONCAM_VERSION; }

std::string build_summary() {
  std::string s = std::string("unioncam ") + version() + "\n";
#ifdef UNIONCAM_DNNL
  s += "cpu convolutions: oneDNN\n";
#else
  s += "cpu convolutions: im2col + matrix products\n";
#endif
#ifdef UNIONCAM_OPENBLAS
  s += "cpu matrix products: OpenBLAS\n";
#else
  s += "cpu matrix products: built-in\n";
#endif
#ifdef UNIONCAM_CUDA
  s += detail::cuda_library_summary();
#else
  s += "cuda: not built (no nvcc or cuDNN at build time)\ndevice: none (a CPU-only build)\n";
#endif
  return s;
}

Backend resolve_backend(const std::string& name, std::string* note) {
  if (name == "cpu") {
    if (note) *note = "device: cpu";
    return Backend::CPU;
  }
  if (name == "cuda") {
    if (!cuda_compiled())
      fail_device(
          "--device cuda: this build of unioncam has no CUDA backend (rebuild with nvcc and cuDNN "
          "present)");
    if (!cuda_device_available())
      fail_device("--device cuda: no usable CUDA device was found on this machine (" +
                  cuda_unavailable_reason() + ")");
    if (note) *note = "device: cuda (" + cuda_device_name() + ")";
    return Backend::CUDA;
  }
  if (name == "auto") {
    if (cuda_device_available()) {
      if (note) *note = "device: cuda (" + cuda_device_name() + "), chosen by --device auto";
      return Backend::CUDA;
    }
    if (note)
      *note = std::string("device: cpu, chosen by --device auto (") +
              (cuda_compiled() ? "no usable CUDA device: " : "") + cuda_unavailable_reason() + ")";
    return Backend::CPU;
  }
  fail_usage("unknown device '" + name + "': expected auto, cpu or cuda");
}

Context::Context(Backend backend, MathMode math) : backend_(backend), math_(math) {
  if (backend == Backend::CUDA) {
#ifdef UNIONCAM_CUDA
    if (!cuda_device_available())
      fail_device("no usable CUDA device was found on this machine (" + cuda_unavailable_reason() +
                  ")");
    cuda_ = std::unique_ptr<CudaState, void (*)(CudaState*)>(detail::create_cuda_state(math),
                                                             detail::destroy_cuda_state);
#else
    fail_device("this build of unioncam has no CUDA backend");
#endif
  }
}

Context::~Context() = default;

CudaState& Context::cuda() {
  UC_ASSERT(cuda_ != nullptr, "CUDA state requested on a CPU context");
  return *cuda_;
}

void Context::synchronize() {
#ifdef UNIONCAM_CUDA
  if (backend_ == Backend::CUDA) CUDA_CHECK(cudaDeviceSynchronize());
#endif
}

}  // namespace uc
