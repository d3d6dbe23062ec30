// The execution context: one per device. On CUDA it owns the cuDNN and cuBLAS handles, one
// workspace sized to the largest need, and the per-shape algorithm cache (runtime/cuda_state.cuh).
#pragma once
#include <memory>
#include <string>

#include "core/tensor.h"

namespace uc {

// fp32: no tensor-core rounding anywhere. tf32: TF32 tensor cores for convolutions and GEMMs
// (PyTorch's default for convolutions). bf16: as tf32, except that forward()'s fused
// convolutions and max-pools keep their feature maps and filters in bfloat16 (NHWC; tensor
// cores accumulate in fp32), which halves their memory traffic; the classifier, the explained
// layer's activations and gradients, and every CAM kernel stay fp32. Ignored on the CPU, which
// always computes in fp32.
enum class MathMode { FP32, TF32, BF16 };
const char* math_mode_name(MathMode m);
MathMode parse_math_mode(const std::string& name);  // "fp32" | "tf32" | "bf16", else usage error
// Whether cuDNN and cuBLAS may use tensor cores (tf32 for float data) in this mode.
inline bool uses_tensor_cores(MathMode m) { return m != MathMode::FP32; }

bool cuda_compiled();          // this build has the CUDA backend
bool cuda_device_available();  // compiled and at least one usable device
// Why no CUDA device is usable ("" when one is): "built without CUDA", "no CUDA device", or the
// CUDA runtime's own words (an old driver, no device node, ...), so that a user can act on them.
const std::string& cuda_unavailable_reason();
std::string cuda_device_name();
const char* version();  // "MAJOR.MINOR.PATCH", the project's version
// What this build and machine offer, for `unioncam --version`: the version, the CPU libraries,
// the CUDA, cuDNN and cuBLAS versions compiled in and found at run time, and the device (or why
// none is usable). One "key: value" per line.
std::string build_summary();

// "cpu" | "cuda" | "auto". cuda without a device (or without a CUDA build) is a usage/device
// error, never a silent fallback. auto picks CUDA when usable; `note` says what was chosen.
Backend resolve_backend(const std::string& name, std::string* note = nullptr);

struct CudaState;  // defined in runtime/cuda_state.cuh (CUDA builds only)

class Context {
 public:
  explicit Context(Backend backend, MathMode math = MathMode::FP32);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Backend backend() const { return backend_; }
  MathMode math() const { return math_; }
  bool is_cuda() const { return backend_ == Backend::CUDA; }
  CudaState& cuda();  // only on the CUDA backend
  void synchronize();

 private:
  Backend backend_;
  MathMode math_;
  std::unique_ptr<CudaState, void (*)(CudaState*)> cuda_{nullptr, nullptr};
};

}  // namespace uc
