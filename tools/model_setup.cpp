#include "tools/model_setup.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "core/error.h"
#include "tools/cli.h"
#include "weights/imagenet_classes.h"

namespace uc::cli {

namespace {
constexpr const char* kBundledModel = "models/fashion_vgg16bn.h5";

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

// The bundled model beside this binary (<root>/build/unioncam -> <root>/models/...), else in the
// source tree the binary was built from (UNIONCAM_SOURCE_DIR, set by CMake); "" when neither.
std::string bundled_model() {
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) {
    std::string dir(exe, static_cast<size_t>(len));
    for (int up = 0; up < 2 && dir.find('/') != std::string::npos; ++up) {
      dir.erase(dir.rfind('/'));
      const std::string candidate = (dir.empty() ? "" : dir) + "/" + kBundledModel;
      if (readable(candidate)) return candidate;
    }
  }
#ifdef UNIONCAM_SOURCE_DIR
  const std::string source = std::string(UNIONCAM_SOURCE_DIR) + "/" + kBundledModel;
  if (readable(source)) return source;
#endif
  return "";
}
}  // namespace

std::string weights_path(const Args& args, bool quiet) {
  if (args.has("weights")) return args.get("weights", "");
  const char* env = std::getenv("UNIONCAM_WEIGHTS");
  if (env != nullptr && *env != '\0') {
    if (!quiet) std::cerr << "weights: " << env << " (from UNIONCAM_WEIGHTS)\n";
    return env;
  }
  const std::string bundled = bundled_model();
  if (bundled.empty())
    fail_usage("--weights is required (no UNIONCAM_WEIGHTS, and the bundled demo model " +
               std::string(kBundledModel) + " is not beside this binary)");
  if (!quiet)
    std::cerr << "weights: " << bundled
              << " (the bundled demo model: Fashion-MNIST items on photographs; --weights W.h5 for "
                 "your own)\n";
  return bundled;
}

std::vector<std::string> effective_class_names(const ModelWeights& weights) {
  if (!weights.class_names.empty()) return weights.class_names;
  const int classes = weights.arch.classes();
  if (classes == 1000) return imagenet_class_names();
  std::vector<std::string> names;
  for (int i = 0; i < classes; ++i) names.push_back("class " + std::to_string(i));
  return names;
}

const char* class_names_source(const ModelWeights& weights) {
  if (!weights.class_names.empty()) return "from the weights file";
  return weights.arch.classes() == 1000 ? "ImageNet (bundled)" : "none (numbered)";
}

}  // namespace uc::cli
