// `unioncam bench`: forward latency (batch 1), throughput (batch N) and forward+backward to the
// CAM target layer, on random VGG weights or a given file; with --methods, each CAM method's
// one-image latency and peak memory instead. scripts/bench.sh runs it beside PyTorch.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <random>
#include <sstream>
#include <vector>

#include "cam/cam.h"
#include "core/error.h"
#include "io/image.h"
#include "runtime/network.h"
#include "tools/cam_cli.h"
#include "tools/cli.h"
#include "weights/random_vgg.h"

namespace uc::cli {

static const char* kBenchHelp =
    "usage: unioncam bench [--weights W.h5 | --depth 16 [--batchnorm]] [options]\n"
    "\n"
    "Times the network: forward at batch 1 (median), forward throughput at --batch,\n"
    "and forward + backward to the last convolution's ReLU at batch 1.\n"
    "\n"
    "  --weights FILE   time this model (default: random VGG weights built in memory)\n"
    "  --depth D        11, 13, 16 (default) or 19, for random weights\n"
    "  --batchnorm      random weights with BatchNorm\n"
    "  --device D       auto (default), cpu or cuda\n"
    "  --precision P    fp32 (default), tf32 or bf16\n"
    "  --batch N        throughput batch (default 32)\n"
    "  --layout L       how forward() runs the convolutions: auto (default: NHWC on cuda in\n"
    "                   tf32 and bf16, else NCHW), nchw, nhwc (each fused with bias, BatchNorm\n"
    "                   and ReLU; bf16 storage needs nhwc)\n"
    "                   or unfused (layer by layer)\n"
    "  --runs N         timed runs for batch 1 (default 10)\n"
    "  --methods LIST   time CAM methods instead (below)\n"
    "  --warmup N       untimed runs per method before timing (--methods; default 1)\n"
    "  --profile        also time the batch forward part by part (each fused step, layout\n"
    "                   conversion and classifier layer, synchronizing after each)\n"
    "  --json           print one JSON line\n"
    "  --quiet          no note on standard error about the device chosen\n"
    "\n"
    "With --methods LIST (all, or e.g. gradcam,unioncam), times CAM methods instead: for each,\n"
    "set_image + explain of one random 224x224 image (median of --runs after --warmup untimed\n"
    "runs, default 1) and the peak memory held on the device while it ran. There --batch is the\n"
    "masked inputs per forward (default as in `explain`) and --runs defaults to 3 on cuda, 1 on\n"
    "cpu. On a CPU, --warmup 0 halves the wall time of Score-CAM and UnionCAM (minutes each).\n"
    "\n"
    "examples:\n"
    "  unioncam bench --device cpu --depth 16 --batch 8\n"
    "  unioncam bench --weights vgg16.h5 --device cuda --precision tf32 --json\n"
    "  unioncam bench --weights vgg16.h5 --methods gradcam,unioncam --warmup 0\n";

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// One image of seeded uniform pixels, normalized as the model expects.
std::vector<float> random_image(const ModelWeights& weights, int h, int w) {
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> uniform(0.f, 1.f);
  Image img;
  img.width = w, img.height = h;
  img.rgb.resize(size_t(3) * h * w);
  for (float& v : img.rgb) v = uniform(rng);
  return to_normalized_chw(img, weights.mean, weights.std);
}

struct MethodTiming {
  CamMethod method;
  double ms;
  size_t peak_bytes;
  CamResult result;
};

// The CAM methods' timings as one JSON line, or as a table with the channels Score-CAM's rule kept.
// The layer the methods explain and its channel count.
std::pair<std::string, int> target_layer(const VggNetwork& net) {
  const std::string target = net.last_conv_relu();
  return {target, static_cast<int>(net.layer(target).out_shape[0])};
}

std::string cams_json(const ModelWeights& weights, const VggNetwork& net, Backend backend,
                      MathMode math, int batch, int runs,
                      const std::vector<MethodTiming>& timings) {
  const auto [target, channels] = target_layer(net);
  std::ostringstream o;
  o << "{\"runtime\":\"unioncam\",\"arch\":" << json_string(weights.arch.name())
    << ",\"device\":" << json_string(backend_name(backend))
    << ",\"precision\":" << json_string(math_mode_name(math)) << ",\"input\":" << net.input_h()
    << ",\"batch\":" << batch << ",\"runs\":" << runs << ",\"target_layer\":" << json_string(target)
    << ",\"channels\":" << channels << ",\"methods\":{";
  for (size_t i = 0; i < timings.size(); ++i) {
    const MethodTiming& t = timings[i];
    o << (i ? "," : "") << json_string(cam_method_name(t.method))
      << ":{\"ms\":" << json_number(t.ms) << ",\"peak_bytes\":" << t.peak_bytes
      << ",\"masked_inputs\":" << t.result.masked_inputs;
    if (t.result.live_channels >= 0) o << ",\"live_channels\":" << t.result.live_channels;
    o << "}";
  }
  o << "}}\n";
  return o.str();
}

std::string cams_text(const ModelWeights& weights, const VggNetwork& net, Backend backend,
                      MathMode math, int batch, int runs,
                      const std::vector<MethodTiming>& timings) {
  const auto [target, channels] = target_layer(net);
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line,
                "%s %s %dx%d on %s (%s), %d masked inputs per forward, median of %d\n",
                weights.arch.name().c_str(), weights.path.c_str(), net.input_h(), net.input_w(),
                backend_name(backend), math_mode_name(math), batch, runs);
  o << line;
  std::snprintf(line, sizeof line, "  %-10s %10s %10s %14s\n", "method", "ms", "peak MB",
                "masked inputs");
  o << line;
  for (const MethodTiming& t : timings) {
    std::snprintf(line, sizeof line, "  %-10s %10.2f %10.1f %14d\n", cam_method_name(t.method),
                  t.ms, t.peak_bytes / 1048576.0, t.result.masked_inputs);
    o << line;
  }
  for (const MethodTiming& t : timings) {
    if (t.result.live_channels < 0) continue;
    const int dead = channels - t.result.live_channels;
    std::snprintf(line, sizeof line,
                  "  %s: %d of %d channels at %s vary, each one forwarded masked%s\n",
                  cam_method_name(t.method), t.result.live_channels, channels, target.c_str(),
                  dead ? (" (" + std::to_string(dead) + " constant ones skipped)").c_str() : "");
    o << line;
  }
  return o.str();
}

int bench_cams(const Args& args, const ModelWeights& weights, Backend backend, MathMode math) {
  const std::vector<CamMethod> methods = parse_methods(args.get("methods", ""));
  const int runs = args.get_int("runs", backend == Backend::CUDA ? 3 : 1, 1, 100000);
  const int warmup = args.get_int("warmup", 1, 0, 100);
  Context ctx(backend, math);
  NetworkOptions options;
  options.max_batch = args.has("batch")
                          ? args.get_int("batch", 32, 1, 4096)
                          : default_masked_batch(backend, weights.input_h, weights.input_w);
  options.max_grad_batch = 1;
  VggNetwork net(ctx, weights, options);
  Explainer explainer(net, CamOptions{});
  const std::vector<float> image = random_image(weights, net.input_h(), net.input_w());

  std::vector<MethodTiming> timings;
  for (CamMethod m : methods) {
    auto once = [&] {
      explainer.set_image(image);
      return explainer.explain(m);  // synchronizes the device before it returns
    };
    // The warm-up chooses algorithms for every batch size the method forwards; the peak is
    // taken after it, so the algorithm search's scratch memory is not part of the figure.
    for (int i = 0; i < warmup; ++i) once();
    reset_peak_allocated_bytes(backend);
    std::vector<double> times;
    CamResult result;
    for (int r = 0; r < runs; ++r) {
      const double t0 = now_ms();
      result = once();
      times.push_back(now_ms() - t0);
    }
    timings.push_back({m, median(times), peak_allocated_bytes(backend), result});
  }

  std::cout << (args.flag("json")
                    ? cams_json(weights, net, backend, math, options.max_batch, runs, timings)
                    : cams_text(weights, net, backend, math, options.max_batch, runs, timings));
  return 0;
}

// Forward at batch 1 and at the batch size, and forward + backward to the CAM target layer at
// batch 1: medians of timed runs after one untimed warm-up each. --profile times the batch
// forward part by part (fused step, conversion, classifier layer), synchronizing after each.
struct ForwardTimings {
  int batch = 0, runs = 0, batch_runs = 0;
  double batch1_ms = 0, batch_ms = 0, fwd_bwd_ms = 0;
  std::string layout, target;
  std::vector<std::string> parts;
  std::vector<double> part_ms;  // median per part
};

ForwardTimings time_forward(Context& ctx, VggNetwork& net, int batch, int runs, bool profile) {
  ForwardTimings t;
  t.batch = batch, t.runs = runs;
  t.batch_runs = ctx.is_cuda() ? 10 : 2;
  t.layout = !net.inference_fused() ? "unfused"
                                    : std::string(layout_name(net.inference_layout())) +
                                          (net.inference_bf16() ? " bf16" : "") + " fused";
  const int h = net.input_h(), w = net.input_w();
  std::vector<float> host(static_cast<size_t>(batch) * 3 * h * w);
  for (size_t i = 0; i < host.size(); ++i)
    host[i] = static_cast<float>((i * 2654435761u) % 1000) / 500.f - 1.f;
  const Tensor big = Tensor::from_host(ctx.backend(), {batch, 3, h, w}, host);
  const Tensor one = big.view(0, {1, 3, h, w});
  auto time_it = [&](auto&& fn) {
    const double t0 = now_ms();
    fn();
    ctx.synchronize();
    return now_ms() - t0;
  };
  // Each first call is a warm-up: algorithm choice, caches, thread pools.
  const auto median_of = [&](int n, auto&& fn) {
    time_it(fn);
    std::vector<double> ms;
    for (int r = 0; r < n; ++r) ms.push_back(time_it(fn));
    return median(ms);
  };
  t.batch1_ms = median_of(runs, [&] { net.forward(one); });
  t.batch_ms = median_of(t.batch_runs, [&] { net.forward(big); });
  t.target = net.last_conv_relu();
  std::vector<float> seed(static_cast<size_t>(net.classes()), 0.f);
  seed[0] = 1.f;
  const Tensor dlogits = Tensor::from_host(ctx.backend(), {1, net.classes()}, seed);
  t.fwd_bwd_ms = median_of(std::max(1, runs / 2), [&] {
    net.forward_keep(one, t.target);
    net.backward(dlogits, t.target);
  });
  if (!profile) return t;
  std::vector<std::vector<double>> part_ms;
  double last = 0;
  size_t at = 0;
  const std::function<void(const std::string&)> mark = [&](const std::string& part) {
    ctx.synchronize();
    const double now = now_ms();
    if (at == t.parts.size()) t.parts.push_back(part), part_ms.emplace_back();
    part_ms[at++].push_back(now - last);
    last = now;
  };
  for (int r = 0; r < t.batch_runs; ++r) {
    ctx.synchronize();
    at = 0;
    last = now_ms();
    net.forward(big, mark);
  }
  for (const auto& ms : part_ms) t.part_ms.push_back(median(ms));
  return t;
}

std::string forward_json(const ModelWeights& weights, const VggNetwork& net, Backend backend,
                         MathMode math, const ForwardTimings& t) {
  std::ostringstream o;
  o << "{\"runtime\":\"unioncam\",\"arch\":" << json_string(weights.arch.name())
    << ",\"device\":" << json_string(backend_name(backend))
    << ",\"precision\":" << json_string(math_mode_name(math)) << ",\"input\":" << net.input_h()
    << ",\"batch1_ms\":" << json_number(t.batch1_ms) << ",\"batch\":" << t.batch
    << ",\"batch_img_s\":" << json_number(t.batch * 1000.0 / t.batch_ms)
    << ",\"layout\":" << json_string(t.layout) << ",\"fwd_bwd_ms\":" << json_number(t.fwd_bwd_ms)
    << ",\"target_layer\":" << json_string(t.target);
  if (!t.parts.empty()) {
    o << ",\"profile\":[";
    for (size_t i = 0; i < t.parts.size(); ++i)
      o << (i ? "," : "") << "{\"part\":" << json_string(t.parts[i])
        << ",\"ms\":" << json_number(t.part_ms[i]) << "}";
    o << "]";
  }
  o << "}\n";
  return o.str();
}

std::string forward_text(const ModelWeights& weights, const VggNetwork& net, Backend backend,
                         MathMode math, const ForwardTimings& t) {
  std::ostringstream o;
  char line[256];
  std::snprintf(line, sizeof line,
                "%s %s %dx%d on %s (%s, %s)\n  forward batch 1:      %8.2f ms (median of %d)\n"
                "  forward batch %-4d    %8.1f images/s\n  forward+backward (%s): %8.2f ms\n",
                weights.arch.name().c_str(), weights.path.c_str(), net.input_h(), net.input_w(),
                backend_name(backend), math_mode_name(math), t.layout.c_str(), t.batch1_ms, t.runs,
                t.batch, t.batch * 1000.0 / t.batch_ms, t.target.c_str(), t.fwd_bwd_ms);
  o << line;
  if (t.parts.empty()) return o.str();
  double total = 0;
  for (double ms : t.part_ms) total += ms;
  o << "  forward batch " << t.batch << ", part by part (synchronized after each; median of "
    << t.batch_runs << "):\n";
  for (size_t i = 0; i < t.parts.size(); ++i) {
    std::snprintf(line, sizeof line, "    %-24s %9.3f ms %5.1f%%\n", t.parts[i].c_str(),
                  t.part_ms[i], 100 * t.part_ms[i] / total);
    o << line;
  }
  return o.str();
}
}  // namespace

int cmd_bench(int argc, char** argv) {
  Args args(
      "bench", argc, argv,
      {"weights", "depth", "device", "precision", "batch", "runs", "methods", "warmup", "layout"},
      {"batchnorm", "json", "quiet", "help", "profile"});
  if (args.flag("help")) {
    std::fputs(kBenchHelp, stdout);
    return 0;
  }
  const MathMode math = parse_math_mode(args.get("precision", "fp32"));
  NetworkOptions options;  // --layout, checked before any work
  const std::string layout = args.get("layout", "auto");
  if (layout == "unfused")
    options.fuse_inference = false;
  else if (layout == "nchw")
    options.layout = ForwardLayout::NCHW;
  else if (layout == "nhwc")
    options.layout = ForwardLayout::NHWC;
  else if (layout != "auto")
    fail_usage("--layout must be auto, nchw, nhwc or unfused, not '" + layout + "'");
  std::string note;
  const Backend backend = resolve_backend(args.get("device", "auto"), &note);
  const ModelWeights weights =
      args.has("weights")
          ? load_weights(args.get("weights", ""))
          : random_vgg_weights(args.get_int("depth", 16, 11, 19), args.flag("batchnorm"), 1000, 0);
  if (!args.flag("json") && !args.flag("quiet")) std::cerr << note << "\n";
  if (args.has("methods")) return bench_cams(args, weights, backend, math);
  const int batch = args.get_int("batch", 32, 1, 4096);
  const int runs = args.get_int("runs", 10, 1, 100000);

  Context ctx(backend, math);
  options.max_batch = batch;
  options.max_grad_batch = 1;
  VggNetwork net(ctx, weights, options);
  const ForwardTimings t = time_forward(ctx, net, batch, runs, args.flag("profile"));
  std::cout << (args.flag("json") ? forward_json(weights, net, backend, math, t)
                                  : forward_text(weights, net, backend, math, t));
  return 0;
}

}  // namespace uc::cli
