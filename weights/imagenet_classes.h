// The 1000 ImageNet-1k class names in index order (torchvision's spelling), for weights files
// that carry no `class_names` attribute.
#pragma once
#include <string>
#include <vector>

namespace uc {

const std::vector<std::string>& imagenet_class_names();

}  // namespace uc
