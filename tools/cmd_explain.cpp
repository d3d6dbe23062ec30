// `unioncam explain --weights W.h5 IMAGE... [--method M|all] [--out DIR] [--save-map] [--json]`
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cam/image.h"
#include "cam/render.h"
#include "runtime/error.h"
#include "tools/cam_cli.h"

namespace uc::cli {

static const std::string kExplainHelp = std::string(
    "usage: unioncam explain --weights W.h5 IMAGE... [options]\n"
    "\n"
    "Explains each image's prediction with class activation maps. Per image and method it\n"
    "writes DIR/<image>_<method>.png (the map over the image, JET colours) and with\n"
    "--save-map DIR/<image>_<method>.npy (float32 HxW in [0,1], the model's input size).\n"
    "\n"
    "  --weights FILE        HDF5 weights (torchvision layout or Keras VGG16/19)\n"
    "  --method M            unioncam (default), gradcam, gradcampp, scorecam, groupcam,\n"
    "                        all, or a comma-separated list\n"
    "  --out DIR             output folder (default: explanations), created if missing\n"
    "  --save-map            also write the raw maps as .npy\n"
    "  --alpha A             overlay opacity in [0,1] (default 0.5)\n"
    "  --json                print one JSON document on standard output\n") + kCamOptionsHelp +
    "\n"
    "examples:\n"
    "  unioncam explain --weights vgg16.h5 cat.jpg\n"
    "  unioncam explain --weights vgg16.h5 --method all --save-map --json cat.jpg dog.png\n";

namespace {
std::string stem_of(const std::string& path) { return std::filesystem::path(path).stem().string(); }
}  // namespace

int cmd_explain(int argc, char** argv) {
  std::set<std::string> valued = kCamValueOptions;
  valued.insert({"weights", "method", "out", "alpha"});
  Args args("explain", argc, argv, valued, {"save-map", "json", "help"});
  if (args.flag("help")) {
    std::fputs(kExplainHelp.c_str(), stdout);
    return 0;
  }
  const std::string weights_path = args.require("weights");
  const std::vector<CamMethod> methods = parse_methods(args.get("method", "unioncam"));
  if (args.positional().empty()) fail_usage("explain: no images given");
  const double alpha = std::strtod(args.get("alpha", "0.5").c_str(), nullptr);
  if (!(alpha >= 0 && alpha <= 1)) fail_usage("--alpha must lie in [0, 1], got " + args.get("alpha", ""));
  const bool json = args.flag("json"), save_map = args.flag("save-map");
  const std::string out_dir = args.get("out", "explanations");

  CamOptions options;
  const auto session = open_cam_session(args, weights_path, &options);
  if (!json) std::cerr << session->device_note << "\n";
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) fail_input("cannot create the output folder '" + out_dir + "': " + ec.message());

  Explainer& explainer = *session->explainer;
  const VggNetwork& net = *session->network;
  const auto& names = session->class_names;
  int failures = 0;
  std::ostringstream doc;
  doc << "{\"device\":" << json_string(backend_name(session->context->backend())) << ",\"images\":[";
  bool first_image = true;
  for (const std::string& path : args.positional()) {
    Image original;
    try {
      original = load_image(path);
    } catch (const Error& e) {
      std::cerr << "unioncam: error: " << e.what() << " (skipped)\n";
      ++failures;
      continue;
    }
    const Image input = resize_bilinear(original, net.input_w(), net.input_h());
    // The forward and the backward to the target layer are shared by every method: timed apart.
    const auto t0 = std::chrono::steady_clock::now();
    explainer.set_image(to_normalized_chw(input, session->weights.mean, session->weights.std));
    session->context->synchronize();
    const double prepare_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const int c = explainer.target_class();
    const double prob = explainer.probabilities()[static_cast<size_t>(c)];
    if (!json) {
      char line[512];
      std::snprintf(line, sizeof line, "%s: class %d %s (%.2f%%); forward+backward %.1f ms\n", path.c_str(), c,
                    names[static_cast<size_t>(c)].c_str(), 100 * prob, prepare_ms);
      std::cout << line;
    }
    doc << (first_image ? "" : ",") << "{\"path\":" << json_string(path) << ",\"class\":" << c
        << ",\"name\":" << json_string(names[static_cast<size_t>(c)]) << ",\"prob\":" << json_number(prob)
        << ",\"forward_backward_ms\":" << json_number(prepare_ms) << ",\"methods\":{";
    first_image = false;
    bool first_method = true;
    for (CamMethod m : methods) {
      const CamResult r = explainer.explain(m);
      const std::string base = (std::filesystem::path(out_dir) / (stem_of(path) + "_" + cam_method_name(m))).string();
      save_png(base + ".png", overlay_map(original, r.map, r.width, r.height, static_cast<float>(alpha)));
      if (save_map) save_npy(base + ".npy", r.map, r.height, r.width);
      doc << (first_method ? "" : ",") << json_string(cam_method_name(m)) << ":{\"overlay\":"
          << json_string(base + ".png") << ",\"map\":" << (save_map ? json_string(base + ".npy") : "null")
          << ",\"ms\":" << json_number(r.ms) << ",\"degenerate\":" << (r.degenerate ? "true" : "false");
      first_method = false;
      std::ostringstream details;
      if (m == CamMethod::UnionCam) {
        const UnionCamDetails& u = r.unioncam;
        doc << ",\"theta\":" << json_number(u.theta) << ",\"beta_den\":" << json_number(u.beta_den)
            << ",\"beta_reg\":" << json_number(u.beta_reg) << ",\"beta_dr\":" << json_number(u.beta_dr)
            << ",\"selected\":" << json_string(u.fused ? "fused" : "region");
        char buf[200];
        std::snprintf(buf, sizeof buf, "  theta=%g beta_den=%.4f beta_reg=%.4f beta_dr=%.4f -> %s", u.theta,
                      u.beta_den, u.beta_reg, u.beta_dr, u.fused ? "fused" : "region");
        details << buf;
      }
      doc << "}";
      if (!json) {
        char line[512];
        std::snprintf(line, sizeof line, "  %-10s %9.1f ms  %s%s%s\n", cam_method_name(m), r.ms, (base + ".png").c_str(),
                      r.degenerate ? "  (constant map)" : "", details.str().c_str());
        std::cout << line;
      }
    }
    doc << "}}";
  }
  doc << "]}\n";
  if (json) std::cout << doc.str();
  return failures ? static_cast<int>(ErrorKind::BadInput) : 0;
}

}  // namespace uc::cli
