// How an op hands itself to its CUDA implementation, in both kinds of build, without an #ifdef
// in every op (as Caffe's device_alternate.hpp does):
//
//   UC_CUDA_DISPATCH(ctx, relu_forward_cuda(ctx, out, in));
//
// returns the CUDA call's result when `ctx` is a CUDA context. A CPU-only build compiles no
// CUDA implementation and never makes a CUDA Context; there the macro names no CUDA function and
// fails with a device error if it is ever reached.
#pragma once
#include <string>

#include "core/error.h"

#ifdef UNIONCAM_CUDA
#define UC_CUDA_DISPATCH(ctx, call)   \
  do {                                \
    if ((ctx).is_cuda()) return call; \
  } while (0)
#else
#define UC_CUDA_DISPATCH(ctx, call)                         \
  do {                                                      \
    if ((ctx).is_cuda()) ::uc::detail::fail_no_cuda(#call); \
  } while (0)
#endif

namespace uc::detail {
[[noreturn]] inline void fail_no_cuda(const char* call) {
  fail_device(std::string(call) + ": this build of unioncam has no CUDA backend");
}
}  // namespace uc::detail
