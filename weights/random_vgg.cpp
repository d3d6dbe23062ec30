#include "weights/random_vgg.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "core/error.h"

namespace uc {

namespace {
// torchvision's cfgs: conv widths per block, each block followed by a max-pool.
std::vector<std::vector<int>> vgg_blocks(int depth) {
  switch (depth) {
    case 11: return {{64}, {128}, {256, 256}, {512, 512}, {512, 512}};
    case 13: return {{64, 64}, {128, 128}, {256, 256}, {512, 512}, {512, 512}};
    case 16: return {{64, 64}, {128, 128}, {256, 256, 256}, {512, 512, 512}, {512, 512, 512}};
    case 19:
      return {
          {64, 64}, {128, 128}, {256, 256, 256, 256}, {512, 512, 512, 512}, {512, 512, 512, 512}};
  }
  fail_usage("VGG depth " + std::to_string(depth) + " is not one of 11, 13, 16, 19");
}
}  // namespace

ModelWeights random_vgg_weights(int depth, bool batchnorm, int classes, uint32_t seed,
                                int width_div, int hidden, int input_size) {
  std::mt19937 gen(seed);
  auto normal = [&](HostArray& a, float stddev) {
    std::normal_distribution<float> d(0.f, stddev);
    for (float& v : a.data) v = d(gen);
  };
  auto uniform = [&](HostArray& a, float lo, float hi) {
    std::uniform_real_distribution<float> d(lo, hi);
    for (float& v : a.data) v = d(gen);
  };
  ModelWeights w;
  w.path = "(random vgg" + std::to_string(depth) + (batchnorm ? "_bn" : "") + ", seed " +
           std::to_string(seed) + ")";
  w.input_h = w.input_w = input_size;
  auto make = [](std::vector<int64_t> shape) {
    HostArray a;
    a.shape = shape;
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    a.data.assign(static_cast<size_t>(n), 0.f);
    return a;
  };
  int index = 0, channels = 3;
  for (const auto& block : vgg_blocks(depth)) {
    for (int width : block) {
      const int out = std::max(1, width / width_div);
      const std::string conv = "features." + std::to_string(index);
      HostArray weight = make({out, channels, 3, 3});
      normal(weight, std::sqrt(2.f / (out * 9.f)));
      w.tensors[conv + ".weight"] = std::move(weight);
      w.tensors[conv + ".bias"] = make({out});
      index += 1;
      if (batchnorm) {
        const std::string bn = "features." + std::to_string(index);
        HostArray gamma = make({out}), beta = make({out}), mean = make({out}), var = make({out});
        uniform(gamma, 0.5f, 1.5f);
        uniform(beta, -0.2f, 0.2f);
        uniform(mean, -0.2f, 0.2f);
        uniform(var, 0.5f, 2.f);
        w.tensors[bn + ".weight"] = std::move(gamma);
        w.tensors[bn + ".bias"] = std::move(beta);
        w.tensors[bn + ".running_mean"] = std::move(mean);
        w.tensors[bn + ".running_var"] = std::move(var);
        index += 1;
      }
      index += 1;  // ReLU
      channels = out;
    }
    index += 1;  // MaxPool
  }
  const int64_t widths[3] = {hidden, hidden, classes};
  int64_t in_features = static_cast<int64_t>(channels) * 7 * 7;
  for (int i = 0; i < 3; ++i) {
    const std::string name = "classifier." + std::to_string(3 * i);
    HostArray weight = make({widths[i], in_features});
    normal(weight, 0.01f);
    w.tensors[name + ".weight"] = std::move(weight);
    w.tensors[name + ".bias"] = make({widths[i]});
    in_features = widths[i];
  }
  w.arch = infer_vgg_arch(w.tensors, w.path);
  return w;
}

}  // namespace uc
