// `unioncam predict --weights W.h5 IMAGE|DIR|-... [--topk 5] [--device auto|cpu|cuda]
//  [--precision fp32|tf32|bf16] [--input-size N|HxW] [--batch N] [--max-pixels N] [--json]
//  [--quiet]`
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>

#include "core/error.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "layers/layers.h"
#include "runtime/network.h"
#include "tools/cli.h"
#include "tools/inputs.h"
#include "tools/model_setup.h"
#include "tools/progress.h"

namespace uc::cli {

static const char* kPredictHelp =
    "usage: unioncam predict [--weights W.h5] IMAGE... [options]\n"
    "\n"
    "Classifies images (JPEG, PNG, BMP; resized bilinearly to the model's input size).\n"
    "IMAGE is a file, a folder (searched recursively for png/jpg/jpeg/bmp files, in sorted\n"
    "order) or - for one image on standard input. A file that cannot be read is reported and\n"
    "skipped; the others are still classified and the exit code is 3.\n"
    "\n"
    "  --weights FILE        HDF5 weights (torchvision layout or Keras VGG16/19)\n"
    "                        (default: $UNIONCAM_WEIGHTS, else the bundled demo model)\n"
    "  --topk K              predictions to print per image (default 5)\n"
    "  --device D            auto (default), cpu or cuda\n"
    "  --precision P         fp32 (default), tf32 or bf16 (CUDA only; see the README)\n"
    "  --input-size N|HxW    override the model input size (multiples of 32)\n"
    "  --batch N             images per forward batch (default 16)\n"
    "  --max-pixels N        refuse images with more pixels (default "
    "100000000)\n" UC_PREPROCESS_HELP
    "  --json                print one JSON document\n"
    "  --quiet               no progress bar and no device note on standard error\n"
    "\n"
    "examples:\n"
    "  unioncam predict --weights vgg16.h5 cat.jpg dog.png --topk 3\n"
    "  unioncam predict --weights vgg16.h5 --json photos/ > predictions.json\n"
    "  curl -s https://example.org/cat.jpg | unioncam predict --weights vgg16.h5 -\n";

namespace {
struct Prediction {
  std::string path;
  std::vector<int> order;  // the top classes, most likely first
  std::vector<double> probs;
  std::vector<float> logits;
};

Prediction predict(const std::string& path, const float* logits, int classes, int topk) {
  Prediction p;
  p.path = path;
  p.logits.assign(logits, logits + classes);
  p.probs = softmax(p.logits.data(), classes);
  p.order.resize(static_cast<size_t>(classes));
  std::iota(p.order.begin(), p.order.end(), 0);
  std::stable_sort(p.order.begin(), p.order.end(),
                   [&](int a, int b) { return p.logits[a] > p.logits[b]; });
  p.order.resize(static_cast<size_t>(topk));
  return p;
}

std::string json_report(const std::string& weights_file, Backend backend, MathMode math,
                        Preprocess preprocess, const std::vector<Prediction>& results,
                        const std::vector<std::string>& names) {
  std::ostringstream o;
  o << "{\"weights\":" << json_string(weights_file)
    << ",\"device\":" << json_string(backend_name(backend))
    << ",\"precision\":" << json_string(math_mode_name(math))
    << ",\"preprocess\":" << json_string(preprocess_name(preprocess)) << ",\"images\":[";
  for (size_t r = 0; r < results.size(); ++r) {
    const Prediction& p = results[r];
    o << (r ? "," : "") << "{\"path\":" << json_string(p.path) << ",\"top\":[";
    for (size_t k = 0; k < p.order.size(); ++k) {
      const size_t c = static_cast<size_t>(p.order[k]);
      o << (k ? "," : "") << "{\"class\":" << c << ",\"name\":" << json_string(names[c])
        << ",\"prob\":" << json_number(p.probs[c]) << ",\"logit\":" << json_number(p.logits[c])
        << "}";
    }
    o << "]}";
  }
  o << "]}\n";
  return o.str();
}

std::string text_report(const std::vector<Prediction>& results,
                        const std::vector<std::string>& names) {
  std::ostringstream o;
  for (const Prediction& p : results) {
    o << p.path << "\n";
    for (size_t k = 0; k < p.order.size(); ++k) {
      const size_t c = static_cast<size_t>(p.order[k]);
      char line[512];
      std::snprintf(line, sizeof line, "  %zu. %-5d %6.2f%%  (logit %8.4f)  %s\n", k + 1,
                    p.order[k], 100.0 * p.probs[c], p.logits[c], names[c].c_str());
      o << line;
    }
  }
  return o.str();
}
}  // namespace

int cmd_predict(int argc, char** argv) {
  Args args(
      "predict", argc, argv,
      {"weights", "topk", "device", "precision", "input-size", "batch", "max-pixels", "preprocess"},
      {"json", "quiet", "help"});
  if (args.flag("help")) {
    std::fputs(kPredictHelp, stdout);
    return 0;
  }
  if (args.positional().empty()) fail_usage("predict: no images given");
  const int topk_arg = args.get_int("topk", 5, 1, 1 << 20);
  const int batch_cap = args.get_int("batch", 16, 1, 4096);
  const size_t max_pixels = parse_max_pixels(args);
  const MathMode math = parse_math_mode(args.get("precision", "fp32"));
  choose_preprocess(args.get("preprocess", ""), "", "");  // a usage error before any work
  std::string device_note;
  const Backend backend = resolve_backend(args.get("device", "auto"), &device_note);
  const bool json = args.flag("json"), quiet = args.flag("quiet");
  int failures = 0;
  const std::vector<InputImage> inputs = expand_inputs(args.positional(), &failures);

  const std::string weights_file = weights_path(args, quiet);
  const ModelWeights weights = load_weights(weights_file);
  int in_h = weights.input_h, in_w = weights.input_w;
  if (args.has("input-size")) parse_input_size(args.get("input-size", ""), &in_h, &in_w);
  const std::vector<std::string> names = effective_class_names(weights);
  const Preprocess preprocess =
      choose_preprocess(args.get("preprocess", ""), weights.preprocess, weights_file);
  if (!json && !quiet) std::cerr << device_note << "\n";

  Context ctx(backend, math);
  NetworkOptions options;
  options.input_h = in_h;
  options.input_w = in_w;
  options.max_batch = std::max(1, std::min(batch_cap, static_cast<int>(inputs.size())));
  options.max_grad_batch = 0;
  VggNetwork net(ctx, weights, options);
  const int classes = net.classes();
  const int topk = std::min(topk_arg, classes);

  // Images are decoded a batch at a time (a bad file is reported and skipped) and forwarded.
  Progress progress(inputs.size(), !quiet);
  std::vector<Prediction> results;
  std::vector<std::string> batch_paths;
  std::vector<float> batch_host;
  const auto forward_batch = [&] {
    const int n = static_cast<int>(batch_paths.size());
    if (n == 0) return;
    const Tensor input = Tensor::from_host(backend, {n, 3, in_h, in_w}, batch_host);
    const std::vector<float> logits = net.forward(input).to_host();
    for (int i = 0; i < n; ++i) {
      results.push_back(
          predict(batch_paths[static_cast<size_t>(i)], logits.data() + i * classes, classes, topk));
      progress.step();
    }
    batch_paths.clear();
    batch_host.clear();
  };
  for (const InputImage& in : inputs) {
    progress.read_or_skip(
        [&] {
          const Image img =
              prepare_model_image(load_input(in, max_pixels), preprocess, in_w, in_h, in.path)
                  .image;
          const std::vector<float> chw = to_normalized_chw(img, weights.mean, weights.std);
          batch_host.insert(batch_host.end(), chw.begin(), chw.end());
          batch_paths.push_back(in.path);
        },
        &failures);
    if (static_cast<int>(batch_paths.size()) == options.max_batch) forward_batch();
  }
  forward_batch();

  std::cout << (json ? json_report(weights_file, backend, math, preprocess, results, names)
                     : text_report(results, names));
  return failures ? exit_code(ErrorKind::BadInput) : 0;
}

}  // namespace uc::cli
