// `unioncam eval --weights W.h5 --images DIR [--masks DIR] [--limit N] [--methods …] [--json]`
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cam/image.h"
#include "cam/metrics.h"
#include "runtime/error.h"
#include "tools/cam_cli.h"

namespace uc::cli {

static const std::string kEvalHelp = std::string(
    "usage: unioncam eval --weights W.h5 --images DIR [options]\n"
    "\n"
    "Scores every method's explanations over a folder of images (METHODS.md): Average Drop,\n"
    "Average Increase, Insertion and Deletion AUC, Overall = Insertion - Deletion, and with\n"
    "--masks the pointing game and the energy-based pointing game.\n"
    "\n"
    "  --weights FILE        HDF5 weights\n"
    "  --images DIR          images (png, jpg, jpeg, bmp; sorted by name, sub-folders included)\n"
    "  --masks DIR           object masks: DIR/<image name>.png, non-zero pixels = object\n"
    "  --limit N             at most N images\n"
    "  --methods M           all (default) or a comma-separated list\n"
    "  --json                print one JSON document\n") + kCamOptionsHelp +
    "\n"
    "example: unioncam eval --weights vgg16.h5 --images val/ --masks val_masks/ --limit 100\n";

namespace {
bool is_image_file(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return std::tolower(ch); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

std::vector<std::string> list_images(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) fail_input("--images '" + dir + "' is not a folder");
  std::vector<std::string> files;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::end(it);
       it.increment(ec))
    if (it->is_regular_file() && is_image_file(it->path())) files.push_back(it->path().string());
  if (ec) fail_input("cannot read the folder '" + dir + "': " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

// Object mask at the model's input size: nearest-neighbour sampling, any non-zero channel.
std::vector<uint8_t> load_mask(const std::string& path, int width, int height) {
  const Image m = load_image(path);
  std::vector<uint8_t> mask(static_cast<size_t>(width) * height);
  for (int y = 0; y < height; ++y) {
    const int sy = std::min(m.height - 1, static_cast<int>((y + 0.5) * m.height / height));
    for (int x = 0; x < width; ++x) {
      const int sx = std::min(m.width - 1, static_cast<int>((x + 0.5) * m.width / width));
      const float* px = &m.rgb[(static_cast<size_t>(sy) * m.width + sx) * 3];
      mask[static_cast<size_t>(y) * width + x] = (px[0] > 0 || px[1] > 0 || px[2] > 0) ? 1 : 0;
    }
  }
  return mask;
}
}  // namespace

int cmd_eval(int argc, char** argv) {
  std::set<std::string> valued = kCamValueOptions;
  valued.insert({"weights", "images", "masks", "limit", "methods"});
  Args args("eval", argc, argv, valued, {"json", "help"});
  if (args.flag("help")) {
    std::fputs(kEvalHelp.c_str(), stdout);
    return 0;
  }
  if (!args.positional().empty()) fail_usage("eval: unexpected argument '" + args.positional()[0] + "'");
  const std::string weights_path = args.require("weights");
  const std::string images_dir = args.require("images");
  const std::vector<CamMethod> methods = parse_methods(args.get("methods", "all"));
  const int limit = args.get_int("limit", 1 << 30, 1, 1 << 30);
  const std::string masks_dir = args.get("masks", "");
  const bool json = args.flag("json");

  std::vector<std::string> images = list_images(images_dir);
  if (static_cast<int>(images.size()) > limit) images.resize(static_cast<size_t>(limit));
  if (images.empty()) fail_input("--images '" + images_dir + "' holds no image files");
  CamOptions options;
  const auto session = open_cam_session(args, weights_path, &options);
  if (!json) std::cerr << session->device_note << "\n";
  Explainer& explainer = *session->explainer;
  const VggNetwork& net = *session->network;

  std::vector<std::vector<MapMetrics>> per_method(methods.size());
  int failures = 0, done = 0;
  for (const std::string& path : images) {
    Image input;
    std::vector<uint8_t> mask;
    try {
      input = resize_bilinear(load_image(path), net.input_w(), net.input_h());
      if (!masks_dir.empty()) {
        const std::string mask_path =
            (std::filesystem::path(masks_dir) / (std::filesystem::path(path).stem().string() + ".png")).string();
        mask = load_mask(mask_path, net.input_w(), net.input_h());
      }
    } catch (const Error& e) {
      std::cerr << "unioncam: error: " << e.what() << " (skipped)\n";
      ++failures;
      continue;
    }
    explainer.set_image(to_normalized_chw(input, session->weights.mean, session->weights.std));
    for (size_t m = 0; m < methods.size(); ++m) {
      const CamResult r = explainer.explain(methods[m]);
      per_method[m].push_back(evaluate_map(explainer, r.map, mask.empty() ? nullptr : &mask));
    }
    ++done;
  }

  std::ostringstream o;
  const bool localization = !masks_dir.empty();
  if (json) {
    o << "{\"n_images\":" << done << ",\"methods\":{";
    for (size_t m = 0; m < methods.size(); ++m) {
      const MetricsSummary s = summarize(per_method[m]);
      o << (m ? "," : "") << json_string(cam_method_name(methods[m])) << ":{\"avg_drop\":" << json_number(s.avg_drop)
        << ",\"avg_increase\":" << json_number(s.avg_increase) << ",\"insertion\":" << json_number(s.insertion)
        << ",\"deletion\":" << json_number(s.deletion) << ",\"overall\":" << json_number(s.overall)
        << ",\"pointing\":" << (localization ? json_number(100 * s.pointing) : "null")
        << ",\"energy\":" << (localization ? json_number(100 * s.energy) : "null") << "}";
    }
    o << "}}\n";
  } else {
    // Right-aligned columns of 12 characters; the arrows are one character but three bytes.
    auto column = [](const std::string& label) {
      size_t chars = 0;
      for (unsigned char ch : label) chars += (ch & 0xC0) != 0x80;
      return std::string(chars < 12 ? 12 - chars : 0, ' ') + label;
    };
    o << done << " images\n" << "Method    ";
    for (const char* h : {"Avg Drop ↓", "Avg Inc ↑", "Insertion ↑", "Deletion ↓", "Overall ↑"}) o << column(h);
    if (localization) o << column("Pointing ↑") << column("Energy ↑");
    o << "\n";
    for (size_t m = 0; m < methods.size(); ++m) {
      const MetricsSummary s = summarize(per_method[m]);
      char line[256];
      std::snprintf(line, sizeof line, "%-10s%12.2f%12.2f%12.2f%12.2f%12.2f", cam_method_name(methods[m]), s.avg_drop,
                    s.avg_increase, s.insertion, s.deletion, s.overall);
      o << line;
      if (localization) {
        std::snprintf(line, sizeof line, "%12.2f%12.2f", 100 * s.pointing, 100 * s.energy);
        o << line;
      }
      o << "\n";
    }
  }
  std::cout << o.str();
  return failures ? static_cast<int>(ErrorKind::BadInput) : 0;
}

}  // namespace uc::cli
