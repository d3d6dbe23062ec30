#include "tools/cam_cli.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "tools/model_setup.h"

namespace uc::cli {

const std::set<std::string> kCamValueOptions = {
    "class", "layer",  "theta",     "groups",     "region",     "score",
    "batch", "device", "precision", "max-memory", "preprocess", "mask-space"};

const char* kCamOptionsHelp =
    "  --class N|NAME        class to explain (index or unique name prefix; default: top-1)\n"
    "  --layer features.N    target layer (default: the ReLU after the last convolution)\n"
    "  --theta T             UnionCAM denoising percentile in [0,100] (default 10)\n"
    "  --groups G            Group-CAM groups (default 32)\n"
    "  --region R            UnionCAM region map: scorecam (default) or groupcam\n"
    "  --score S             prob (default) or logit: what Score-CAM and UnionCAM's β\n"
    "                        weigh (Group-CAM always uses probabilities, METHODS.md)\n"
    "  --mask-space M        normalized (default) or pixel\n"
    "  --batch N             masked inputs per forward (default: from free device memory;\n"
    "                        32 on the CPU)\n"
    "  --device D            auto (default), cpu or cuda\n"
    "  --precision P         fp32 (default), tf32 or bf16 (CUDA only; see the README)\n"
    "  --max-memory MB       cap the memory held by tensors on the device (or the CPU); the\n"
    "                        masked-input batch is halved until it fits\n" UC_PREPROCESS_HELP;

namespace {
double parse_double(const std::string& option, const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0')
    fail_usage("--" + option + " expects a number, got '" + text + "'");
  return v;
}

int parse_class(const std::string& text, const std::vector<std::string>& names) {
  char* end = nullptr;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (!text.empty() && *end == '\0') {
    if (v < 0 || v >= static_cast<long>(names.size()))
      fail_usage("--class " + text + " is out of range: the model has " +
                 std::to_string(names.size()) + " classes (0.." + std::to_string(names.size() - 1) +
                 ")");
    return static_cast<int>(v);
  }
  std::vector<int> hits;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == text) return static_cast<int>(i);  // an exact name wins over prefixes
    if (names[i].compare(0, text.size(), text) == 0) hits.push_back(static_cast<int>(i));
  }
  if (hits.size() == 1) return hits[0];
  if (hits.empty()) fail_usage("--class '" + text + "' matches no class name");
  std::string list;
  for (size_t i = 0; i < hits.size() && i < 5; ++i)
    list += (i ? ", " : "") + names[static_cast<size_t>(hits[i])];
  fail_usage("--class '" + text + "' is ambiguous: " + list + (hits.size() > 5 ? ", ..." : ""));
}
}  // namespace

CamOptions parse_cam_options(const Args& args, const std::vector<std::string>& class_names) {
  CamOptions o;
  if (args.has("class")) o.target_class = parse_class(args.get("class", ""), class_names);
  o.layer = args.get("layer", "");
  o.theta = static_cast<float>(parse_double("theta", args.get("theta", "10")));
  if (!(o.theta >= 0.f && o.theta <= 100.f))
    fail_usage("--theta must lie in [0, 100], got " + args.get("theta", ""));
  o.groups = args.get_int("groups", 32, 1, 1 << 20);
  const std::string region = args.get("region", "scorecam");
  if (region == "scorecam")
    o.region = RegionMethod::ScoreCam;
  else if (region == "groupcam")
    o.region = RegionMethod::GroupCam;
  else
    fail_usage("--region expects scorecam or groupcam, got '" + region + "'");
  const std::string score = args.get("score", "prob");
  if (score == "prob")
    o.score = ScoreKind::Prob;
  else if (score == "logit")
    o.score = ScoreKind::Logit;
  else
    fail_usage("--score expects prob or logit, got '" + score + "'");
  const std::string space = args.get("mask-space", "normalized");
  if (space == "normalized")
    o.mask_space = MaskSpace::Normalized;
  else if (space == "pixel")
    o.mask_space = MaskSpace::Pixel;
  else
    fail_usage("--mask-space expects normalized or pixel, got '" + space + "'");
  o.batch = args.get_int("batch", 0, 1, 1 << 16);
  return o;
}

std::vector<CamMethod> parse_methods(const std::string& list) {
  if (list == "all") return all_cam_methods();
  std::vector<CamMethod> methods;
  std::stringstream in(list);
  std::string name;
  while (std::getline(in, name, ','))
    if (!name.empty()) methods.push_back(parse_cam_method(name));
  if (methods.empty()) fail_usage("no method given (expected all or a comma-separated list)");
  return methods;
}

std::unique_ptr<CamSession> open_cam_session(const Args& args, CamOptions* options) {
  auto s = std::make_unique<CamSession>();
  const MathMode math = parse_math_mode(args.get("precision", "fp32"));
  choose_preprocess(args.get("preprocess", ""), "", "");  // a usage error before any work
  const Backend backend = resolve_backend(args.get("device", "auto"), &s->device_note);
  if (args.has("batch"))
    args.get_int("batch", 0, 1, 1 << 16);  // usage errors before loading anything
  const int max_memory_mb = args.get_int("max-memory", 0, 1, 1 << 24);
  if (max_memory_mb > 0) set_memory_limit(backend, static_cast<size_t>(max_memory_mb) << 20);
  s->weights_file = weights_path(args, args.flag("quiet"));
  s->weights = load_weights(s->weights_file);
  s->class_names = effective_class_names(s->weights);
  s->preprocess =
      choose_preprocess(args.get("preprocess", ""), s->weights.preprocess, s->weights_file);
  *options = parse_cam_options(args, s->class_names);
  s->context = std::make_unique<Context>(backend, math);

  // The masked-input batch decides most of the memory: on a full device it is halved and retried.
  const int batch = options->batch > 0
                        ? options->batch
                        : default_masked_batch(backend, s->weights.input_h, s->weights.input_w);
  ExplainerPlan plan =
      plan_explainer(*s->context, s->weights, *options, batch, [](int from, int to) {
        std::cerr << "unioncam: out of memory at batch " << from << "; retrying with " << to
                  << "\n";
      });
  s->network = std::move(plan.network);
  s->explainer = std::move(plan.explainer);
  return s;
}

}  // namespace uc::cli
