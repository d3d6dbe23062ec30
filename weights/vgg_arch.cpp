// VGG architecture inference from torchvision-named tensors. torchvision numbers the modules of
// `features` consecutively: each conv takes 2 indices (conv, relu) or 3 with BatchNorm (conv, bn,
// relu) and each max-pool 1, so a pool shows up as a one-index gap before the next conv.
#include <algorithm>
#include <set>
#include <sstream>

#include "core/error.h"
#include "weights/weights.h"

namespace uc {
namespace {

struct Config {
  int depth;
  std::vector<int> convs_per_block;
};
const Config kConfigs[] = {
    {11, {1, 1, 2, 2, 2}}, {13, {2, 2, 2, 2, 2}}, {16, {2, 2, 3, 3, 3}}, {19, {2, 2, 4, 4, 4}}};

std::string shape_str(const std::vector<int64_t>& s) {
  std::ostringstream o;
  o << '[';
  for (size_t i = 0; i < s.size(); ++i) o << (i ? "," : "") << s[i];
  o << ']';
  return o.str();
}

std::string list_str(const std::vector<int>& v) {
  return shape_str(std::vector<int64_t>(v.begin(), v.end()));
}

// Parses "features.<N>.weight" into N; -1 for any other name.
int feature_weight_index(const std::string& name) {
  const std::string pre = "features.", suf = ".weight";
  if (name.size() <= pre.size() + suf.size() || name.compare(0, pre.size(), pre) != 0 ||
      name.compare(name.size() - suf.size(), suf.size(), suf) != 0)
    return -1;
  const std::string digits = name.substr(pre.size(), name.size() - pre.size() - suf.size());
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) return -1;
  return std::stoi(digits);
}

class ShapeChecker {
 public:
  ShapeChecker(const std::map<std::string, HostArray>& t, const std::string& origin)
      : tensors_(t), origin_(origin) {}

  void expect(const std::string& name, const std::vector<int64_t>& shape) {
    expected_.insert(name);
    const auto it = tensors_.find(name);
    if (it == tensors_.end())
      fail_input(origin_ + ": missing dataset '" + name + "' (expected shape " + shape_str(shape) +
                 ")");
    if (it->second.shape != shape)
      fail_input(origin_ + ": dataset '" + name + "' has shape " + shape_str(it->second.shape) +
                 "; expected " + shape_str(shape));
  }

  const HostArray& get(const std::string& name) const {
    const auto it = tensors_.find(name);
    if (it == tensors_.end()) fail_input(origin_ + ": missing dataset '" + name + "'");
    return it->second;
  }

  // Anything not claimed by the architecture is probably a sign of a different model.
  void reject_unexpected(const std::string& arch) const {
    for (const auto& [name, a] : tensors_)
      if (!expected_.count(name))
        fail_input(origin_ + ": unexpected dataset '" + name + "' " + shape_str(a.shape) +
                   " for a " + arch);
  }

 private:
  const std::map<std::string, HostArray>& tensors_;
  const std::string& origin_;
  std::set<std::string> expected_;
};

}  // namespace

int VggArch::last_conv_channels() const {
  for (auto it = features.rbegin(); it != features.rend(); ++it)
    if (it->kind == FeatureModule::Conv) return it->out_channels;
  return 0;
}

std::string VggArch::name() const {
  return "vgg" + std::to_string(depth) + (batchnorm ? "_bn" : "");
}

int64_t ModelWeights::parameter_count() const {
  int64_t n = 0;
  for (const auto& entry : tensors) {
    const std::string& name = entry.first;  // a plain reference: lambdas capture it in C++17
    const HostArray& a = entry.second;
    const auto ends = [&](const std::string& s) {
      return name.size() >= s.size() && name.compare(name.size() - s.size(), s.size(), s) == 0;
    };
    if (!ends(".running_mean") && !ends(".running_var")) n += static_cast<int64_t>(a.data.size());
  }
  return n;
}

const HostArray& ModelWeights::at(const std::string& name) const {
  const auto it = tensors.find(name);
  if (it == tensors.end()) fail_input(path + ": no tensor '" + name + "' in the weights");
  return it->second;
}

VggArch infer_vgg_arch(const std::map<std::string, HostArray>& tensors, const std::string& origin) {
  ShapeChecker check(tensors, origin);

  std::vector<int> convs;  // torchvision indices of the convolutions, ascending
  for (const auto& [name, a] : tensors)
    if (a.shape.size() == 4 && feature_weight_index(name) >= 0)
      convs.push_back(feature_weight_index(name));
  std::sort(convs.begin(), convs.end());
  if (convs.empty())
    fail_input(origin +
               ": no convolution weights (4-D datasets named features.<N>.weight); "
               "not a VGG weights file");

  VggArch arch;
  arch.batchnorm = tensors.count("features." + std::to_string(convs[0] + 1) + ".running_mean") > 0;
  const int step = arch.batchnorm ? 3 : 2;

  // Walk the indices: a conv at the next free index continues the block, one index later
  // means a pool closed the block.
  std::vector<int> blocks{0};
  int next = 0, channels = 3;
  for (int index : convs) {
    if (index == next + 1 && blocks.back() > 0) {
      arch.features.push_back({FeatureModule::MaxPool, next, channels, channels});
      blocks.push_back(0);
      next = index;
    }
    if (index != next)
      fail_input(origin + ": convolution features." + std::to_string(index) + " is out of place; " +
                 "expected the next convolution at features." + std::to_string(next) + " or " +
                 std::to_string(next + 1) +
                 (arch.batchnorm ? " (with BatchNorm)" : " (no BatchNorm)"));
    const std::string p = "features." + std::to_string(index) + ".";
    const auto& w = check.get(p + "weight");
    const int out = static_cast<int>(w.shape[0]);
    check.expect(p + "weight", {out, channels, 3, 3});
    check.expect(p + "bias", {out});
    arch.features.push_back({FeatureModule::Conv, index, channels, out});
    if (arch.batchnorm) {
      const std::string b = "features." + std::to_string(index + 1) + ".";
      for (const char* s : {"weight", "bias", "running_mean", "running_var"})
        check.expect(b + s, {out});
      arch.features.push_back({FeatureModule::BatchNorm, index + 1, out, out});
    }
    arch.features.push_back({FeatureModule::ReLU, index + step - 1, out, out});
    channels = out;
    blocks.back()++;
    next = index + step;
  }
  arch.features.push_back({FeatureModule::MaxPool, next, channels, channels});

  const auto match = std::find_if(std::begin(kConfigs), std::end(kConfigs),
                                  [&](const Config& c) { return c.convs_per_block == blocks; });
  if (match == std::end(kConfigs))
    fail_input(origin + ": unknown architecture: convolutions per block " + list_str(blocks) +
               " match none of VGG11 [1,1,2,2,2], VGG13 [2,2,2,2,2], VGG16 [2,2,3,3,3], "
               "VGG19 [2,2,4,4,4]");
  arch.depth = match->depth;

  // torchvision's classifier: Linear(C*7*7, h1), ReLU, Dropout, Linear(h1, h2), ReLU, Dropout,
  // Linear(h2, classes); the adaptive pool before it always yields 7x7.
  int64_t in = int64_t(channels) * 7 * 7;
  for (const char* layer : {"classifier.0.", "classifier.3.", "classifier.6."}) {
    const auto& w = check.get(std::string(layer) + "weight");
    const int64_t out = w.shape.empty() ? 0 : w.shape[0];
    check.expect(std::string(layer) + "weight", {out, in});
    check.expect(std::string(layer) + "bias", {out});
    arch.classifier_widths.push_back(static_cast<int>(out));
    in = out;
  }
  check.reject_unexpected(arch.name());
  return arch;
}

}  // namespace uc
