#include "tools/model_setup.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "core/error.h"
#include "tools/cli.h"

namespace uc::cli {

namespace {
constexpr const char* kBundledModelName = "fashion_vgg16bn.h5";
constexpr const char* kBundledModel = "models/fashion_vgg16bn.h5";

bool readable(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

// The bundled model of an installed binary (<prefix>/bin/unioncam -> <prefix>/share/unioncam/),
// else beside this binary in a build tree (<root>/build/unioncam -> <root>/models/), else in the
// source tree it was built from (UNIONCAM_SOURCE_DIR, set by CMake); "" when none.
std::string bundled_model() {
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len > 0) {
    std::string dir(exe, static_cast<size_t>(len));
    dir.erase(dir.rfind('/'));  // the binary's folder
    const std::string parent = dir.substr(0, dir.rfind('/'));
#ifdef UNIONCAM_DATADIR
    const std::string installed = parent + "/" UNIONCAM_DATADIR "/unioncam/" + kBundledModelName;
    if (readable(installed)) return installed;
#endif
    for (const std::string& root : {dir, parent})
      if (readable(root + "/models/" + kBundledModelName))
        return root + "/models/" + kBundledModelName;
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

}  // namespace uc::cli
