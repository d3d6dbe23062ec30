// Loading what every model-running subcommand needs: weights, class names, device context.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "runtime/context.h"
#include "weights/weights.h"

namespace uc::cli {

// The names used for output: the file's own, else ImageNet's for 1000 classes, else "class N".
std::vector<std::string> effective_class_names(const ModelWeights& weights);
const char* class_names_source(const ModelWeights& weights);

}  // namespace uc::cli
