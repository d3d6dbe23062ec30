// The torchvision layout: one root dataset per state_dict key, plus optional root attributes
// describing preprocessing (mean, std, input_size) and the class names.
#include <cmath>

#include "core/error.h"
#include "weights/formats.h"

namespace uc {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::array<float, 3> read_triple(const h5::File& f, const char* name, bool positive) {
  const std::vector<double> v = f.read_numbers("/", name);
  if (v.size() != 3)
    fail_input(f.path() + ": attribute '" + name + "' has " + std::to_string(v.size()) +
               " values; expected 3 (one per RGB channel)");
  for (double x : v)
    if (!std::isfinite(x) || (positive && x <= 0))
      fail_input(f.path() + ": attribute '" + name + "' holds " + std::to_string(x) +
                 (positive ? "; expected finite positive values" : "; expected finite values"));
  return {float(v[0]), float(v[1]), float(v[2])};
}

void read_input_size(const h5::File& f, ModelWeights& m) {
  const std::vector<double> v = f.read_numbers("/", "input_size");
  if (v.size() != 1 && v.size() != 2)
    fail_input(f.path() + ": attribute 'input_size' has " + std::to_string(v.size()) +
               " values; expected one integer or [H, W]");
  for (double x : v)
    if (!(x > 0) || x > kMaxInputSide || x != std::floor(x) || std::fmod(x, 32.0) != 0)
      fail_input(f.path() + ": attribute 'input_size' holds " + std::to_string(x) +
                 "; expected a positive multiple of 32 (VGG pools five times by 2), at most " +
                 std::to_string(kMaxInputSide));
  m.input_h = static_cast<int>(v[0]);
  m.input_w = static_cast<int>(v.back());
}

}  // namespace

ModelWeights read_torchvision(const h5::File& f) {
  ModelWeights m;
  m.path = f.path();
  m.layout = WeightsLayout::Torchvision;
  for (const std::string& name : f.datasets("/"))
    if (!ends_with(name, "num_batches_tracked")) m.tensors[name] = read_finite(f, name);
  if (m.tensors.empty())
    fail_input(f.path() +
               ": no datasets at the root; expected one per state_dict key "
               "(features.0.weight, ..., classifier.6.bias) or a Keras layer_names attribute");
  m.arch = infer_vgg_arch(m.tensors, f.path());

  if (f.has_attribute("/", "arch")) {
    const std::vector<std::string> a = f.read_strings("/", "arch");
    if (a.size() != 1 || a[0] != m.arch.name())
      fail_input(f.path() + ": attribute 'arch' says '" + (a.empty() ? "" : a[0]) +
                 "' but the datasets describe a " + m.arch.name());
  }
  if (f.has_attribute("/", "mean")) m.mean = read_triple(f, "mean", false);
  if (f.has_attribute("/", "std")) m.std = read_triple(f, "std", true);
  if (f.has_attribute("/", "input_size")) read_input_size(f, m);
  if (f.has_attribute("/", "preprocess")) {
    const std::vector<std::string> p = f.read_strings("/", "preprocess");
    if (p.size() != 1)
      fail_input(f.path() + ": attribute 'preprocess' has " + std::to_string(p.size()) +
                 " strings; expected one (torchvision, keras, plain or antialias)");
    m.preprocess = p[0];
  }
  if (f.has_attribute("/", "class_names")) {
    m.class_names = f.read_strings("/", "class_names");
    if (static_cast<int>(m.class_names.size()) != m.arch.classes())
      fail_input(f.path() + ": attribute 'class_names' has " +
                 std::to_string(m.class_names.size()) + " names but the classifier has " +
                 std::to_string(m.arch.classes()) + " classes");
  }
  return m;
}

}  // namespace uc
