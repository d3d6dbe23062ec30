// Cheap argument checks shared by the layer implementations (internal to layers/).
#pragma once
#include <string>

#include "core/context.h"
#include "core/error.h"
#include "core/tensor.h"
#include "layers/layers.h"

namespace uc::detail {

// `t` must live on ctx's backend and hold exactly numel(expected) elements of `dtype`: a
// mismatch is a caller bug, reported with the operation, the tensor's role and both shapes.
inline void expect_tensor(const Context& ctx, const Tensor& t, const Shape& expected,
                          const char* op, const char* role, DType dtype = DType::F32) {
  UC_ASSERT(t.defined(), std::string(op) + ": " + role + " is not allocated");
  UC_ASSERT(t.numel() == shape_numel(expected) && t.dtype() == dtype,
            std::string(op) + ": " + role + " has shape " + shape_str(t.shape()) + " " +
                dtype_name(t.dtype()) + " but the layer shape expects " + shape_str(expected) +
                " " + dtype_name(dtype));
  UC_ASSERT(t.backend() == ctx.backend(), std::string(op) + ": " + role + " is on " +
                                              backend_name(t.backend()) + " but the context is " +
                                              backend_name(ctx.backend()));
}

}  // namespace uc::detail
