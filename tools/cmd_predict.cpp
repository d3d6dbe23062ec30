// `unioncam predict --weights W.h5 IMAGE... [--topk 5] [--device auto|cpu|cuda]
//  [--precision fp32|tf32] [--input-size N|HxW] [--batch N] [--json]`
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>

#include "cam/image.h"
#include "runtime/error.h"
#include "runtime/network.h"
#include "tools/cli.h"
#include "tools/model_setup.h"

namespace uc::cli {

static const char* kPredictHelp =
    "usage: unioncam predict --weights W.h5 IMAGE... [options]\n"
    "\n"
    "Classifies images (JPEG, PNG, BMP; resized bilinearly to the model's input size).\n"
    "\n"
    "  --weights FILE        HDF5 weights (torchvision layout or Keras VGG16/19)\n"
    "  --topk K              predictions to print per image (default 5)\n"
    "  --device D            auto (default), cpu or cuda\n"
    "  --precision P         fp32 (default) or tf32 (CUDA only)\n"
    "  --input-size N|HxW    override the model input size (multiples of 32)\n"
    "  --batch N             images per forward batch (default 16)\n"
    "  --json                print one JSON document\n"
    "\n"
    "example: unioncam predict --weights vgg16.h5 cat.jpg dog.png --topk 3\n";

namespace {
struct Prediction {
  std::string path;
  std::vector<int> order;
  std::vector<double> probs;
  std::vector<float> logits;
};

std::vector<double> softmax(const float* z, int n) {
  const double m = *std::max_element(z, z + n);
  std::vector<double> p(static_cast<size_t>(n));
  double sum = 0;
  for (int i = 0; i < n; ++i) sum += p[static_cast<size_t>(i)] = std::exp(z[i] - m);
  for (double& v : p) v /= sum;
  return p;
}
}  // namespace

int cmd_predict(int argc, char** argv) {
  Args args("predict", argc, argv, {"weights", "topk", "device", "precision", "input-size", "batch"},
            {"json", "help"});
  if (args.flag("help")) {
    std::fputs(kPredictHelp, stdout);
    return 0;
  }
  const std::string weights_path = args.require("weights");
  if (args.positional().empty()) fail_usage("predict: no images given");
  const int topk_arg = args.get_int("topk", 5, 1, 1 << 20);
  const int batch_cap = args.get_int("batch", 16, 1, 4096);
  const MathMode math = parse_math_mode(args.get("precision", "fp32"));
  std::string device_note;
  const Backend backend = resolve_backend(args.get("device", "auto"), &device_note);
  const bool json = args.flag("json");

  const ModelWeights weights = load_weights(weights_path);
  int in_h = weights.input_h, in_w = weights.input_w;
  if (args.has("input-size")) parse_input_size(args.get("input-size", ""), &in_h, &in_w);
  const std::vector<std::string> names = effective_class_names(weights);
  if (!json) std::cerr << device_note << "\n";

  // Decode every image first: a bad file is reported and skipped, the rest still run.
  std::vector<std::string> paths;
  std::vector<std::vector<float>> inputs;
  int failures = 0;
  for (const std::string& path : args.positional()) {
    try {
      const Image img = resize_bilinear(load_image(path), in_w, in_h);
      inputs.push_back(to_normalized_chw(img, weights.mean, weights.std));
      paths.push_back(path);
    } catch (const Error& e) {
      std::cerr << "unioncam: error: " << e.what() << " (skipped)\n";
      ++failures;
    }
  }

  Context ctx(backend, math);
  NetworkOptions options;
  options.input_h = in_h;
  options.input_w = in_w;
  options.max_batch = std::max(1, std::min(batch_cap, static_cast<int>(inputs.size())));
  options.max_grad_batch = 0;
  VggNetwork net(ctx, weights, options);
  const int classes = net.classes();
  const int topk = std::min(topk_arg, classes);
  const int64_t image_numel = 3LL * in_h * in_w;

  std::vector<Prediction> results;
  std::vector<float> batch_host;
  for (size_t start = 0; start < inputs.size(); start += static_cast<size_t>(options.max_batch)) {
    const int n = static_cast<int>(std::min(inputs.size() - start, static_cast<size_t>(options.max_batch)));
    batch_host.resize(static_cast<size_t>(n * image_numel));
    for (int i = 0; i < n; ++i)
      std::copy(inputs[start + i].begin(), inputs[start + i].end(), batch_host.begin() + i * image_numel);
    const Tensor input = Tensor::from_host(backend, {n, 3, in_h, in_w}, batch_host);
    const std::vector<float> logits = net.forward(input).to_host();
    for (int i = 0; i < n; ++i) {
      Prediction p;
      p.path = paths[start + i];
      p.logits.assign(logits.begin() + i * classes, logits.begin() + (i + 1) * classes);
      p.probs = softmax(p.logits.data(), classes);
      p.order.resize(static_cast<size_t>(classes));
      std::iota(p.order.begin(), p.order.end(), 0);
      std::stable_sort(p.order.begin(), p.order.end(), [&](int a, int b) { return p.logits[a] > p.logits[b]; });
      p.order.resize(static_cast<size_t>(topk));
      results.push_back(std::move(p));
    }
  }

  std::ostringstream o;
  if (json) {
    o << "{\"device\":" << json_string(backend_name(backend)) << ",\"precision\":"
      << json_string(math_mode_name(math)) << ",\"images\":[";
    for (size_t r = 0; r < results.size(); ++r) {
      const Prediction& p = results[r];
      o << (r ? "," : "") << "{\"path\":" << json_string(p.path) << ",\"top\":[";
      for (size_t k = 0; k < p.order.size(); ++k) {
        const int c = p.order[k];
        o << (k ? "," : "") << "{\"class\":" << c << ",\"name\":" << json_string(names[static_cast<size_t>(c)])
          << ",\"prob\":" << json_number(p.probs[static_cast<size_t>(c)])
          << ",\"logit\":" << json_number(p.logits[static_cast<size_t>(c)]) << "}";
      }
      o << "]}";
    }
    o << "]}\n";
  } else {
    for (const Prediction& p : results) {
      o << p.path << "\n";
      for (size_t k = 0; k < p.order.size(); ++k) {
        const int c = p.order[k];
        char line[512];
        std::snprintf(line, sizeof line, "  %zu. %-5d %6.2f%%  (logit %8.4f)  %s\n", k + 1, c,
                      100.0 * p.probs[static_cast<size_t>(c)], p.logits[static_cast<size_t>(c)],
                      names[static_cast<size_t>(c)].c_str());
        o << line;
      }
    }
  }
  std::cout << o.str();
  return failures ? static_cast<int>(ErrorKind::BadInput) : 0;
}

}  // namespace uc::cli
