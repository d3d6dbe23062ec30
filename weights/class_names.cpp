#include "weights/imagenet_classes.h"
#include "weights/weights.h"

namespace uc {

std::vector<std::string> effective_class_names(const ModelWeights& weights) {
  if (!weights.class_names.empty()) return weights.class_names;
  const int classes = weights.arch.classes();
  if (classes == 1000) return imagenet_class_names();
  std::vector<std::string> names;
  for (int i = 0; i < classes; ++i) names.push_back("class " + std::to_string(i));
  return names;
}

const char* class_names_source(const ModelWeights& weights) {
  if (!weights.class_names.empty()) return "from the weights file";
  return weights.arch.classes() == 1000 ? "ImageNet (bundled)" : "none (numbered)";
}

}  // namespace uc
