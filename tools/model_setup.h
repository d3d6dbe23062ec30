// Loading what every model-running subcommand needs: weights, class names, device context.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/context.h"
#include "weights/weights.h"

namespace uc::cli {

class Args;

// The weights a model-running command uses: --weights when given, else $UNIONCAM_WEIGHTS, else
// the bundled demo model (models/fashion_vgg16bn.h5 beside the binary's parent folder, or in the
// source tree it was built from), so that `unioncam explain cat.jpg` works as it is. A default
// choice is said on standard error unless `quiet`; without any, --weights is a usage error.
std::string weights_path(const Args& args, bool quiet);

}  // namespace uc::cli
