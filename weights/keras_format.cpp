// Keras VGG16/VGG19 files (vgg16_weights_tf_dim_ordering_tf_kernels.h5 and relatives), converted
// to the torchvision form on load: OIHW kernels, [out, in] dense matrices, fc1 rows from NHWC to
// NCHW flatten order, and Caffe preprocessing (BGR, 0-255, mean subtracted) folded into
// features.0 plus mean/std so the model takes the same RGB input as a torchvision one.
#include <cmath>
#include <cstdio>
#include <set>

#include "core/error.h"
#include "weights/formats.h"

namespace uc {
namespace {

struct KerasLayer {
  HostArray kernel, bias;
};

// Keras splits a long list attribute into name0, name1, ... (HDF5 caps attribute size).
std::vector<std::string> read_name_list(const h5::File& f, const std::string& object,
                                        const std::string& name) {
  if (f.has_attribute(object, name)) return f.read_strings(object, name);
  std::vector<std::string> all;
  for (int i = 0; f.has_attribute(object, name + std::to_string(i)); ++i)
    for (auto& s : f.read_strings(object, name + std::to_string(i))) all.push_back(std::move(s));
  return all;
}

// Each weighted layer holds a kernel (rank 4 for conv, 2 for dense) and a bias, in either order.
KerasLayer read_layer(const h5::File& f, const std::string& layer, size_t kernel_rank) {
  const std::vector<std::string> names = read_name_list(f, layer, "weight_names");
  if (names.size() != 2)
    fail_input(f.path() + ": Keras layer '" + layer + "' has " + std::to_string(names.size()) +
               " weights; expected 2 (kernel and bias)");
  KerasLayer l;
  for (const auto& n : names) {
    HostArray a = read_finite(f, layer + "/" + n);
    (a.shape.size() == 1 ? l.bias : l.kernel) = std::move(a);
  }
  const size_t out_axis = kernel_rank - 1;
  if (l.kernel.shape.size() != kernel_rank || l.bias.shape.size() != 1 ||
      l.bias.shape[0] != l.kernel.shape[out_axis])
    fail_input(f.path() + ": Keras layer '" + layer + "' should hold a rank-" +
               std::to_string(kernel_rank) + " kernel and a bias of its last dimension");
  return l;
}

// HWIO [3,3,in,out] -> OIHW [out,in,3,3]; `reverse_in` flips the input channels (BGR -> RGB).
HostArray conv_kernel(const h5::File& f, const std::string& layer, const HostArray& k,
                      bool reverse_in) {
  if (k.shape[0] != 3 || k.shape[1] != 3)
    fail_input(f.path() + ": Keras layer '" + layer +
               "' kernel is not HWIO [3,3,in,out] "
               "(only TensorFlow dim ordering is supported)");
  const int64_t in = k.shape[2], out = k.shape[3];
  HostArray w{{out, in, 3, 3}, std::vector<float>(k.data.size())};
  for (int64_t y = 0; y < 3; ++y)
    for (int64_t x = 0; x < 3; ++x)
      for (int64_t i = 0; i < in; ++i)
        for (int64_t o = 0; o < out; ++o) {
          const int64_t ti = reverse_in ? in - 1 - i : i;
          w.data[((o * in + ti) * 3 + y) * 3 + x] = k.data[((y * 3 + x) * in + i) * out + o];
        }
  return w;
}

// [in, out] -> [out, in]. For fc1 the input rows follow Keras' NHWC flatten (h, w, c) of a
// side x side x channels map; torchvision flattens NCHW (c, h, w).
HostArray dense_kernel(const HostArray& k, int64_t side, int64_t channels) {
  const int64_t in = k.shape[0], out = k.shape[1];
  HostArray w{{out, in}, std::vector<float>(k.data.size())};
  for (int64_t r = 0; r < in; ++r) {
    const int64_t c = r % channels, hw = r / channels;
    const int64_t col = channels == 1 ? r : c * side * side + hw;
    for (int64_t o = 0; o < out; ++o) w.data[o * in + col] = k.data[r * out + o];
  }
  return w;
}

}  // namespace

bool is_keras_file(const h5::File& f) {
  return f.has_attribute("/", "layer_names") || f.has_attribute("/", "layer_names0");
}

ModelWeights read_keras(const h5::File& f) {
  ModelWeights m;
  m.path = f.path();
  m.layout = WeightsLayout::Keras;

  std::map<std::pair<int, int>, KerasLayer> convs;  // (block, conv) -> layer
  std::map<std::string, KerasLayer> dense;
  const std::vector<std::string> groups = f.groups("/");
  const std::set<std::string> present(groups.begin(), groups.end());
  for (const std::string& layer : read_name_list(f, "/", "layer_names")) {
    if (!present.count(layer))
      fail_input(f.path() + ": Keras layer '" + layer +
                 "' is listed in layer_names but has no group");
    if (read_name_list(f, layer, "weight_names").empty()) continue;  // pools, flatten, input
    int block = 0, conv = 0;
    char extra = 0;
    if (std::sscanf(layer.c_str(), "block%d_conv%d%c", &block, &conv, &extra) == 2)
      convs[{block, conv}] = read_layer(f, layer, 4);
    else if (layer == "fc1" || layer == "fc2" || layer == "predictions")
      dense[layer] = read_layer(f, layer, 2);
    else
      fail_input(f.path() + ": unexpected Keras layer '" + layer +
                 "' with weights; expected block<b>_conv<i>, fc1, fc2, predictions");
  }
  if (convs.empty()) fail_input(f.path() + ": Keras file has no block<b>_conv<i> layers");
  if (dense.empty())
    fail_input(f.path() +
               ": Keras file has no classifier (fc1, fc2, predictions): include_top=False "
               "files cannot be used because explanations need class scores");
  for (const char* l : {"fc1", "fc2", "predictions"})
    if (!dense.count(l)) fail_input(f.path() + ": Keras file has no layer '" + l + "'");

  // torchvision numbering: conv and relu per layer, one pool after each block.
  int index = 0, block = 1, conv = 1;
  int64_t channels = 3;
  for (const auto& [key, l] : convs) {
    if (key.first == block + 1 && key.second == 1 && conv > 1) ++block, conv = 1, ++index;
    if (key != std::make_pair(block, conv))
      fail_input(f.path() + ": Keras layer block" + std::to_string(key.first) + "_conv" +
                 std::to_string(key.second) + " is out of sequence; expected block" +
                 std::to_string(block) + "_conv" + std::to_string(conv) + " next");
    const std::string layer = "block" + std::to_string(block) + "_conv" + std::to_string(conv);
    const std::string p = "features." + std::to_string(index) + ".";
    m.tensors[p + "weight"] = conv_kernel(f, layer, l.kernel, index == 0);
    m.tensors[p + "bias"] = l.bias;
    channels = l.kernel.shape[3];
    ++conv, index += 2;
  }

  const HostArray& fc1 = dense["fc1"].kernel;
  const int64_t cells = fc1.shape[0] / channels;
  const auto side = static_cast<int64_t>(std::lround(std::sqrt(double(cells))));
  if (cells * channels != fc1.shape[0] || side * side != cells)
    fail_input(f.path() + ": Keras fc1 has " + std::to_string(fc1.shape[0]) +
               " inputs, not side*side*" + std::to_string(channels) + " for the last conv's " +
               std::to_string(channels) + " channels");
  if (side != 7)
    fail_input(f.path() + ": Keras fc1 takes a " + std::to_string(side) + "x" +
               std::to_string(side) + " map (input " + std::to_string(32 * side) +
               "); only 7x7 (input 224) matches torchvision's classifier");
  const char* names[] = {"fc1", "fc2", "predictions"};
  for (int i = 0; i < 3; ++i) {
    const KerasLayer& l = dense[names[i]];
    const std::string p = "classifier." + std::to_string(3 * i) + ".";
    m.tensors[p + "weight"] = dense_kernel(l.kernel, side, i == 0 ? channels : 1);
    m.tensors[p + "bias"] = l.bias;
  }
  m.input_h = m.input_w = static_cast<int>(32 * side);

  // x_bgr[c] = 255 * I[2-c] - mean_bgr[c] = (I - mean_rgb / 255) / (1/255) in RGB order, with the
  // kernel's input channels already reversed above.
  m.mean = {float(123.68 / 255), float(116.779 / 255), float(103.939 / 255)};
  m.std = {float(1.0 / 255), float(1.0 / 255), float(1.0 / 255)};
  m.preprocess = "keras";  // load_img(target_size=...): nearest neighbour
  m.arch = infer_vgg_arch(m.tensors, f.path());
  return m;
}

}  // namespace uc
