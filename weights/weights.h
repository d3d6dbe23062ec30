// Weights files: the torchvision layout (one dataset per state_dict key) and Keras VGG16/19
// files, both read into one in-memory form keyed by torchvision names. Keras files are
// converted on load: OIHW kernels, fc1 rows permuted from NHWC to NCHW flatten order, and the
// Caffe BGR preprocessing folded into features.0 (input channels reversed, scaled by 255) so
// that every model takes the same RGB input normalized with `mean`/`std`.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace uc {

struct HostArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// One entry of the `features` Sequential, in torchvision order.
struct FeatureModule {
  enum Kind { Conv, BatchNorm, ReLU, MaxPool } kind;
  int index;         // torchvision index: features.<index>
  int in_channels;   // Conv, BatchNorm: channels in
  int out_channels;  // Conv: channels out (BatchNorm, ReLU, MaxPool: same as in)
};

struct VggArch {
  int depth = 16;  // 11, 13, 16 or 19 (configs A, B, D, E)
  bool batchnorm = false;
  std::vector<FeatureModule> features;
  std::vector<int> classifier_widths;  // out_features of classifier.0, .3, .6
  int classes() const { return classifier_widths.empty() ? 0 : classifier_widths.back(); }
  int last_conv_channels() const;
  std::string name() const;  // "vgg16", "vgg16_bn"
};

enum class WeightsLayout { Torchvision, Keras };

struct ModelWeights {
  std::string path;
  WeightsLayout layout = WeightsLayout::Torchvision;
  VggArch arch;
  std::map<std::string, HostArray> tensors;  // torchvision state_dict names
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  int input_h = 224, input_w = 224;
  std::vector<std::string> class_names;  // empty when the file has none
  // How images are prepared for this model (io/preprocess.h names the choices): the file's
  // `preprocess` attribute, "keras" for Keras files, "" when the file does not say.
  std::string preprocess;
  int64_t parameter_count() const;  // counts learnable parameters (weights, biases, BN affine)
  const HostArray& at(const std::string& name) const;  // error naming the file when missing
};

// Limits that a weights file is checked against before anything it claims is allocated: no VGG
// tensor holds more values (classifier.0.weight: 4096 x 25088, about 2^26.6), and an input side
// past 8192 (64 times ImageNet's pixels) is not a VGG input but a hostile or broken file.
constexpr int64_t kMaxTensorValues = int64_t(1) << 28;
constexpr int kMaxInputSide = 8192;

// Reads either layout (detected from the file's contents), infers and checks the architecture,
// rejects NaN/Inf. Any problem is an Error(BadInput) naming the file, what was expected and
// what was found.
ModelWeights load_weights(const std::string& path);

// The names used for output: the file's own `class_names`, else ImageNet's for 1000 classes,
// else "class N"; and where they came from, in words (for `unioncam info`).
std::vector<std::string> effective_class_names(const ModelWeights& weights);
const char* class_names_source(const ModelWeights& weights);

// Infers the VGG architecture from torchvision-named datasets and their shapes (checked).
// `origin` names the file in error messages.
VggArch infer_vgg_arch(const std::map<std::string, HostArray>& tensors, const std::string& origin);

}  // namespace uc
