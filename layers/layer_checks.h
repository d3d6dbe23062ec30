// Cheap argument checks shared by the layer implementations (internal to layers/).
#pragma once
#include <string>

#include "core/context.h"
#include "core/error.h"
#include "core/tensor.h"
#include "layers/layers.h"

namespace uc::detail {

// `t` must live on ctx's backend and hold exactly numel(expected) elements (bf16: packed two
// per float, layers.h): a mismatch is a caller bug, reported with the operation, the tensor's
// role and both shapes.
inline void expect_tensor(const Context& ctx, const Tensor& t, const Shape& expected,
                          const char* op, const char* role, bool bf16 = false) {
  UC_ASSERT(t.defined(), std::string(op) + ": " + role + " is not allocated");
  UC_ASSERT(t.numel() == (bf16 ? bf16_floats(shape_numel(expected)) : shape_numel(expected)),
            std::string(op) + ": " + role + " has shape " + shape_str(t.shape()) +
                " but the layer shape expects " + shape_str(expected) + (bf16 ? " in bf16" : ""));
  UC_ASSERT(t.backend() == ctx.backend(),
            std::string(op) + ": " + role + " is on " + backend_name(t.backend()) +
                " but the context is " + backend_name(ctx.backend()));
}

}  // namespace uc::detail
