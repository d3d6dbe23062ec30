// `unioncam explain --weights W.h5 IMAGE|DIR|-... [--method M|all] [--out DIR] [--format png|jpg]
//  [--grid FILE] [--save-map] [--force] [--json] [--quiet]`
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "io/image.h"
#include "io/render.h"
#include "tools/cam_cli.h"
#include "tools/dump.h"
#include "tools/inputs.h"
#include "tools/progress.h"

namespace uc::cli {

static const std::string kExplainHelp =
    std::string(
        "usage: unioncam explain [--weights W.h5] IMAGE... [options]\n"
        "\n"
        "Explains each image's prediction with class activation maps. Per image and method it\n"
        "writes DIR/<image>_<method>.png (the map over the image, JET colours) and with\n"
        "--save-map DIR/<image>_<method>.npy (float32 HxW in [0,1], the model's input size).\n"
        "IMAGE is a file, a folder (searched recursively for png/jpg/jpeg/bmp files, in sorted\n"
        "order; <image> is then the path below it with _ for /) or - for one image on standard\n"
        "input (<image> is stdin). A file that cannot be read is reported and skipped; the others\n"
        "are still explained and the exit code is 3. Existing outputs are an error (exit 2)\n"
        "before any work unless --force is given.\n"
        "\n"
        "  --weights FILE        HDF5 weights (torchvision layout or Keras VGG16/19)\n"
        "                        (default: $UNIONCAM_WEIGHTS, else the bundled demo model)\n"
        "  --method M            unioncam (default), gradcam, gradcampp, scorecam, groupcam,\n"
        "                        all, or a comma-separated list\n"
        "  --out DIR             output folder (default: explanations), created if missing\n"
        "  --format F            overlay pictures as png (default) or jpg\n"
        "  --grid FILE           also one picture (.png, .jpg) with a row per image: the original\n"
        "                        and each method's overlay, labelled\n"
        "  --save-map            also write the raw maps as .npy\n"
        "  --dump FILE.h5        also every intermediate of every method (inputs, logits,\n"
        "                        activations, gradients, weights, scores, thresholds, the\n"
        "                        UnionCAM maps and betas), one HDF5 group per image (README:\n"
        "                        Dumps)\n"
        "  --dump-masks          with --dump, also the masked-input maps of Score-CAM and\n"
        "                        Group-CAM (large: about 100 MB per image on VGG16)\n"
        "  --alpha A             overlay opacity in [0,1] (default 0.5)\n"
        "  --force               replace existing output files\n"
        "  --max-pixels N        refuse images with more pixels (default 100000000)\n"
        "  --json                print one JSON document on standard output\n"
        "  --quiet               no progress bar and no device note on standard error\n") +
    kCamOptionsHelp +
    "\n"
    "examples:\n"
    "  unioncam explain --weights vgg16.h5 cat.jpg\n"
    "  unioncam explain --weights vgg16.h5 --method all --save-map --json cat.jpg dog.png\n"
    "  unioncam explain --weights vgg16.h5 --method gradcam,unioncam --grid grid.jpg photos/\n"
    "  unioncam explain --weights vgg16.h5 --class tabby --format jpg --out maps/ - < cat.jpg\n";

namespace {
// save_image's formats, checked before any work rather than when the picture is written.
void check_picture_name(const std::string& option, const std::string& path) {
  const std::string ext = lowercase_extension(path);
  if (ext != ".png" && ext != ".jpg" && ext != ".jpeg")
    fail_usage("--" + option + " '" + path + "' must end in .png, .jpg or .jpeg");
}

constexpr int kGridCell = 224;

// make_grid shrinks every picture to fit its cell anyway; shrinking as soon as it is drawn keeps
// the grid of a long run small in memory.
Image grid_tile(const Image& img) {
  const double scale = std::min(1.0, double(kGridCell) / std::max(img.width, img.height));
  if (scale == 1.0) return img;
  return resize_bilinear(img, std::max(1, static_cast<int>(std::lround(img.width * scale))),
                         std::max(1, static_cast<int>(std::lround(img.height * scale))));
}

std::string percent(double p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100 * p);
  return buf;
}

// The options of one run, checked before any work.
struct ExplainRun {
  std::vector<CamMethod> methods;
  double alpha = 0.5;
  std::string format, grid_path, out_dir, dump_path;
  bool dump_masks = false;
  size_t max_pixels = kDefaultMaxPixels;
  bool json = false, save_map = false, quiet = false;

  // DIR/<image>_<method>: the overlay's and the map's path without the extension.
  std::string base(const InputImage& in, CamMethod m) const {
    return (std::filesystem::path(out_dir) / (in.name + "_" + cam_method_name(m))).string();
  }
};

ExplainRun parse_run(const Args& args) {
  ExplainRun run;
  run.methods = parse_methods(args.get("method", "unioncam"));
  if (args.positional().empty()) fail_usage("explain: no images given");
  run.alpha = std::strtod(args.get("alpha", "0.5").c_str(), nullptr);
  if (!(run.alpha >= 0 && run.alpha <= 1))
    fail_usage("--alpha must lie in [0, 1], got " + args.get("alpha", ""));
  run.format = args.get("format", "png");
  if (run.format != "png" && run.format != "jpg")
    fail_usage("--format expects png or jpg, got '" + run.format + "'");
  run.grid_path = args.get("grid", "");
  if (!run.grid_path.empty()) check_picture_name("grid", run.grid_path);
  run.max_pixels = parse_max_pixels(args);
  run.json = args.flag("json"), run.save_map = args.flag("save-map"),
  run.quiet = args.flag("quiet");
  run.out_dir = args.get("out", "explanations");
  run.dump_path = args.get("dump", "");
  run.dump_masks = args.flag("dump-masks");
  if (run.dump_masks && run.dump_path.empty()) fail_usage("--dump-masks needs --dump FILE.h5");
  return run;
}

// Every file the run may write, so that existing ones stop it before the model is even loaded.
std::vector<std::string> planned_outputs(const ExplainRun& run,
                                         const std::vector<InputImage>& inputs) {
  std::vector<std::string> outputs;
  for (const InputImage& in : inputs)
    for (CamMethod m : run.methods) {
      outputs.push_back(run.base(in, m) + "." + run.format);
      if (run.save_map) outputs.push_back(run.base(in, m) + ".npy");
    }
  if (!run.grid_path.empty()) outputs.push_back(run.grid_path);
  if (!run.dump_path.empty()) outputs.push_back(run.dump_path);
  return outputs;
}

// What one image's explanation produced, for the text and JSON reports.
struct MethodOutcome {
  CamMethod method;
  std::string overlay_path, map_path;  // map_path: empty without --save-map
  CamResult result;
};
struct ImageOutcome {
  std::string path, class_name;
  int target_class = 0;
  double prob = 0, prepare_ms = 0;
  std::vector<MethodOutcome> methods;
};

const char* selected_map(const UnionCamDetails& u) { return u.fused ? "fused" : "region"; }

DumpSettings dump_settings(const CamSession& session, const CamOptions& o) {
  DumpSettings s;
  s.weights = session.weights_file;
  s.layer = o.layer.empty() ? session.network->last_conv_relu() : o.layer;
  s.score = o.score == ScoreKind::Logit ? "logit" : "prob";
  s.mask_space = o.mask_space == MaskSpace::Pixel ? "pixel" : "normalized";
  s.region = o.region == RegionMethod::GroupCam ? "groupcam" : "scorecam";
  s.theta = o.theta;
  s.groups = o.groups;
  return s;
}

std::string text_report(const ImageOutcome& image) {
  std::ostringstream text;
  char line[512];
  std::snprintf(line, sizeof line, "%s: class %d %s (%.2f%%); forward+backward %.1f ms\n",
                image.path.c_str(), image.target_class, image.class_name.c_str(), 100 * image.prob,
                image.prepare_ms);
  text << line;
  for (const MethodOutcome& m : image.methods) {
    const CamResult& r = m.result;
    char details[200] = "";
    if (m.method == CamMethod::UnionCam) {
      const UnionCamDetails& u = r.unioncam;
      std::snprintf(details, sizeof details,
                    "  theta=%g beta_den=%.4f beta_reg=%.4f beta_dr=%.4f -> %s", u.theta,
                    u.beta_den, u.beta_reg, u.beta_dr, selected_map(u));
    }
    std::snprintf(line, sizeof line, "  %-10s %9.1f ms  %s%s%s\n", cam_method_name(m.method), r.ms,
                  m.overlay_path.c_str(), r.degenerate ? "  (constant map)" : "", details);
    text << line;
  }
  return text.str();
}

std::string json_report(const ImageOutcome& image) {
  std::ostringstream doc;
  doc << "{\"path\":" << json_string(image.path) << ",\"class\":" << image.target_class
      << ",\"name\":" << json_string(image.class_name) << ",\"prob\":" << json_number(image.prob)
      << ",\"forward_backward_ms\":" << json_number(image.prepare_ms) << ",\"methods\":{";
  for (size_t i = 0; i < image.methods.size(); ++i) {
    const MethodOutcome& m = image.methods[i];
    const CamResult& r = m.result;
    doc << (i ? "," : "") << json_string(cam_method_name(m.method))
        << ":{\"overlay\":" << json_string(m.overlay_path)
        << ",\"map\":" << (m.map_path.empty() ? "null" : json_string(m.map_path))
        << ",\"ms\":" << json_number(r.ms)
        << ",\"degenerate\":" << (r.degenerate ? "true" : "false");
    if (m.method == CamMethod::UnionCam) {
      const UnionCamDetails& u = r.unioncam;
      doc << ",\"theta\":" << json_number(u.theta) << ",\"beta_den\":" << json_number(u.beta_den)
          << ",\"beta_reg\":" << json_number(u.beta_reg)
          << ",\"beta_dr\":" << json_number(u.beta_dr)
          << ",\"selected\":" << json_string(selected_map(u));
    }
    doc << "}";
  }
  doc << "}}";
  return doc.str();
}

// Explains one image with every method of the run, writes the overlays (and maps), and adds a
// row to the grid when there is one.
ImageOutcome explain_image(const ExplainRun& run, CamSession& session, const InputImage& in,
                           const Image& original, const ModelImage& input,
                           std::vector<std::vector<GridCell>>* grid) {
  Explainer& explainer = *session.explainer;
  ImageOutcome image;
  image.path = in.path;
  // The forward and the backward to the target layer are shared by every method: timed apart.
  const auto t0 = std::chrono::steady_clock::now();
  explainer.set_image(to_normalized_chw(input.image, session.weights.mean, session.weights.std));
  session.context->synchronize();
  image.prepare_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  image.target_class = explainer.target_class();
  image.class_name = session.class_names[static_cast<size_t>(image.target_class)];
  image.prob = explainer.probabilities()[static_cast<size_t>(image.target_class)];
  std::vector<GridCell> row;
  // The row's first tile names the explained class; method tiles stay short enough to read.
  if (grid) row.push_back({grid_tile(original), image.class_name + " " + percent(image.prob)});
  for (CamMethod m : run.methods) {
    MethodOutcome outcome{m, run.base(in, m) + "." + run.format, "", explainer.explain(m)};
    const CamResult& r = outcome.result;
    const Image overlay = overlay_map(original, r.map, r.width, r.height,
                                      static_cast<float>(run.alpha), input.region);
    save_image(outcome.overlay_path, overlay);
    if (run.save_map) {
      outcome.map_path = run.base(in, m) + ".npy";
      save_npy(outcome.map_path, r.map, r.height, r.width);
    }
    std::string label = cam_method_name(m);
    if (m == CamMethod::UnionCam) label += std::string(" (") + selected_map(r.unioncam) + ")";
    if (grid) row.push_back({grid_tile(overlay), label});
    image.methods.push_back(std::move(outcome));
  }
  if (grid) grid->push_back(std::move(row));
  return image;
}
}  // namespace

int cmd_explain(int argc, char** argv) {
  std::set<std::string> valued = kCamValueOptions;
  valued.insert({"weights", "method", "out", "alpha", "format", "grid", "max-pixels", "dump"});
  Args args("explain", argc, argv, valued,
            {"save-map", "json", "quiet", "force", "help", "dump-masks"});
  if (args.flag("help")) {
    std::fputs(kExplainHelp.c_str(), stdout);
    return 0;
  }
  const ExplainRun run = parse_run(args);
  int failures = 0;
  const std::vector<InputImage> inputs = expand_inputs(args.positional(), &failures);
  check_unique_names(inputs);
  check_outputs(planned_outputs(run, inputs), args.flag("force"));

  CamOptions options;
  const auto session = open_cam_session(args, &options);
  if (!run.json && !run.quiet) std::cerr << session->device_note << "\n";
  std::error_code ec;
  std::filesystem::create_directories(run.out_dir, ec);
  if (ec) fail_output("cannot create the output folder '" + run.out_dir + "': " + ec.message());

  std::unique_ptr<DumpWriter> dump;
  CamTrace trace;
  if (!run.dump_path.empty()) {
    create_parent_folders(run.dump_path);
    dump = std::make_unique<DumpWriter>(run.dump_path, dump_settings(*session, options));
    trace.masks = run.dump_masks;
    session->explainer->set_trace(&trace);
  }
  Progress progress(inputs.size(), !run.quiet);
  std::vector<std::vector<GridCell>> grid;
  std::ostringstream doc;
  doc << "{\"weights\":" << json_string(session->weights_file)
      << ",\"device\":" << json_string(backend_name(session->context->backend()))
      << ",\"preprocess\":" << json_string(preprocess_name(session->preprocess)) << ",\"images\":[";
  bool first_image = true;
  for (const InputImage& in : inputs) {
    Image original;
    ModelImage input;
    const auto read = [&] {
      original = load_input(in, run.max_pixels);
      input = prepare_model_image(original, session->preprocess, session->network->input_w(),
                                  session->network->input_h(), in.path);
    };
    if (!progress.read_or_skip(read, &failures)) continue;
    const ImageOutcome image =
        explain_image(run, *session, in, original, input, run.grid_path.empty() ? nullptr : &grid);
    if (dump)
      dump->add_image(in.name, in.path, image.target_class, image.class_name, image.prob, trace);
    doc << (first_image ? "" : ",") << json_report(image);
    first_image = false;
    if (!run.json) progress.print(stdout, text_report(image));
    progress.step();
  }
  if (!grid.empty()) {
    create_parent_folders(run.grid_path);
    save_image(run.grid_path, make_grid(grid, kGridCell));
  }
  if (dump) dump->commit();
  doc << "],\"grid\":" << (grid.empty() ? "null" : json_string(run.grid_path))
      << ",\"dump\":" << (dump ? json_string(run.dump_path) : "null") << "}\n";
  if (run.json) std::cout << doc.str();
  return failures ? exit_code(ErrorKind::BadInput) : 0;
}

}  // namespace uc::cli
