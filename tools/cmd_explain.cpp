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
#include "tools/inputs.h"
#include "tools/progress.h"

namespace uc::cli {

static const std::string kExplainHelp = std::string(
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
    "  --alpha A             overlay opacity in [0,1] (default 0.5)\n"
    "  --force               replace existing output files\n"
    "  --max-pixels N        refuse images with more pixels (default 100000000)\n"
    "  --json                print one JSON document on standard output\n"
    "  --quiet               no progress bar and no device note on standard error\n") + kCamOptionsHelp +
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
}  // namespace

int cmd_explain(int argc, char** argv) {
  std::set<std::string> valued = kCamValueOptions;
  valued.insert({"weights", "method", "out", "alpha", "format", "grid", "max-pixels"});
  Args args("explain", argc, argv, valued, {"save-map", "json", "quiet", "force", "help"});
  if (args.flag("help")) {
    std::fputs(kExplainHelp.c_str(), stdout);
    return 0;
  }
  const std::vector<CamMethod> methods = parse_methods(args.get("method", "unioncam"));
  if (args.positional().empty()) fail_usage("explain: no images given");
  const double alpha = std::strtod(args.get("alpha", "0.5").c_str(), nullptr);
  if (!(alpha >= 0 && alpha <= 1)) fail_usage("--alpha must lie in [0, 1], got " + args.get("alpha", ""));
  const std::string format = args.get("format", "png");
  if (format != "png" && format != "jpg") fail_usage("--format expects png or jpg, got '" + format + "'");
  const std::string grid_path = args.get("grid", "");
  if (!grid_path.empty()) check_picture_name("grid", grid_path);
  const size_t max_pixels = parse_max_pixels(args);
  const bool json = args.flag("json"), save_map = args.flag("save-map"), quiet = args.flag("quiet");
  const std::string out_dir = args.get("out", "explanations");

  int failures = 0;
  const std::vector<InputImage> inputs = expand_inputs(args.positional(), &failures);
  check_unique_names(inputs);
  // Every file this run may write, checked before the model is even loaded.
  const auto base_of = [&](const InputImage& in, CamMethod m) {
    return (std::filesystem::path(out_dir) / (in.name + "_" + cam_method_name(m))).string();
  };
  std::vector<std::string> outputs;
  for (const InputImage& in : inputs)
    for (CamMethod m : methods) {
      outputs.push_back(base_of(in, m) + "." + format);
      if (save_map) outputs.push_back(base_of(in, m) + ".npy");
    }
  if (!grid_path.empty()) outputs.push_back(grid_path);
  check_outputs(outputs, args.flag("force"));

  CamOptions options;
  const auto session = open_cam_session(args, &options);
  if (!json && !quiet) std::cerr << session->device_note << "\n";
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) fail_input("cannot create the output folder '" + out_dir + "': " + ec.message());

  Explainer& explainer = *session->explainer;
  const VggNetwork& net = *session->network;
  const auto& names = session->class_names;
  Progress progress(inputs.size(), !quiet);
  std::vector<std::vector<GridCell>> grid;
  std::ostringstream doc;
  doc << "{\"weights\":" << json_string(session->weights_file)
      << ",\"device\":" << json_string(backend_name(session->context->backend())) << ",\"images\":[";
  bool first_image = true;
  for (const InputImage& in : inputs) {
    Image original;
    if (!progress.read_or_skip([&] { original = load_input(in, max_pixels); }, &failures)) continue;
    const Image input = resize_bilinear(original, net.input_w(), net.input_h());
    // The forward and the backward to the target layer are shared by every method: timed apart.
    const auto t0 = std::chrono::steady_clock::now();
    explainer.set_image(to_normalized_chw(input, session->weights.mean, session->weights.std));
    session->context->synchronize();
    const double prepare_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    const int c = explainer.target_class();
    const std::string& class_name = names[static_cast<size_t>(c)];
    const double prob = explainer.probabilities()[static_cast<size_t>(c)];
    std::ostringstream text;
    char line[512];
    std::snprintf(line, sizeof line, "%s: class %d %s (%.2f%%); forward+backward %.1f ms\n", in.path.c_str(), c,
                  class_name.c_str(), 100 * prob, prepare_ms);
    text << line;
    doc << (first_image ? "" : ",") << "{\"path\":" << json_string(in.path) << ",\"class\":" << c
        << ",\"name\":" << json_string(class_name) << ",\"prob\":" << json_number(prob)
        << ",\"forward_backward_ms\":" << json_number(prepare_ms) << ",\"methods\":{";
    first_image = false;
    std::vector<GridCell> row;
    // The row's first tile names the explained class; method tiles stay short enough to read.
    if (!grid_path.empty()) row.push_back({grid_tile(original), class_name + " " + percent(prob)});
    bool first_method = true;
    for (CamMethod m : methods) {
      const CamResult r = explainer.explain(m);
      const std::string base = base_of(in, m), overlay_path = base + "." + format;
      const Image overlay = overlay_map(original, r.map, r.width, r.height, static_cast<float>(alpha));
      save_image(overlay_path, overlay);
      if (save_map) save_npy(base + ".npy", r.map, r.height, r.width);
      std::string label = cam_method_name(m);
      doc << (first_method ? "" : ",") << json_string(cam_method_name(m)) << ":{\"overlay\":"
          << json_string(overlay_path) << ",\"map\":" << (save_map ? json_string(base + ".npy") : "null")
          << ",\"ms\":" << json_number(r.ms) << ",\"degenerate\":" << (r.degenerate ? "true" : "false");
      first_method = false;
      std::ostringstream details;
      if (m == CamMethod::UnionCam) {
        const UnionCamDetails& u = r.unioncam;
        const char* selected = u.fused ? "fused" : "region";
        doc << ",\"theta\":" << json_number(u.theta) << ",\"beta_den\":" << json_number(u.beta_den)
            << ",\"beta_reg\":" << json_number(u.beta_reg) << ",\"beta_dr\":" << json_number(u.beta_dr)
            << ",\"selected\":" << json_string(selected);
        char buf[200];
        std::snprintf(buf, sizeof buf, "  theta=%g beta_den=%.4f beta_reg=%.4f beta_dr=%.4f -> %s", u.theta,
                      u.beta_den, u.beta_reg, u.beta_dr, selected);
        details << buf;
        label += std::string(" (") + selected + ")";
      }
      doc << "}";
      std::snprintf(line, sizeof line, "  %-10s %9.1f ms  %s%s%s\n", cam_method_name(m), r.ms, overlay_path.c_str(),
                    r.degenerate ? "  (constant map)" : "", details.str().c_str());
      text << line;
      if (!grid_path.empty()) row.push_back({grid_tile(overlay), label});
    }
    doc << "}}";
    if (!grid_path.empty()) grid.push_back(std::move(row));
    if (!json) progress.print(stdout, text.str());
    progress.step();
  }
  if (!grid.empty()) {
    create_parent_folders(grid_path);
    save_image(grid_path, make_grid(grid, kGridCell));
  }
  doc << "],\"grid\":" << (grid.empty() ? "null" : json_string(grid_path)) << "}\n";
  if (json) std::cout << doc.str();
  return failures ? exit_code(ErrorKind::BadInput) : 0;
}

}  // namespace uc::cli
