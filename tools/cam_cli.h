// What `explain` and `eval` share: CAM options from the command line, the model set-up, the
// image list, and the network sized for masked-input batches.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "cam/cam.h"
#include "io/preprocess.h"
#include "runtime/network.h"
#include "tools/cli.h"
#include "weights/weights.h"

namespace uc::cli {

// Options every CAM subcommand accepts (values), and their help text.
extern const std::set<std::string> kCamValueOptions;
extern const char* kCamOptionsHelp;

// Parses --class --layer --theta --groups --region --score --mask-space --batch.
CamOptions parse_cam_options(const Args& args, const std::vector<std::string>& class_names);
std::vector<CamMethod> parse_methods(const std::string& list);  // "all" or "a,b,c"

// The model, a context and a network planned for masked batches, validated before any work.
struct CamSession {
  ModelWeights weights;
  std::string weights_file;  // as given, or the default chosen (model_setup.h)
  std::vector<std::string> class_names;
  std::unique_ptr<Context> context;
  std::unique_ptr<VggNetwork> network;
  std::unique_ptr<Explainer> explainer;
  std::string device_note;
  Preprocess preprocess = Preprocess::Antialias;  // --preprocess, else the weights file's
};
// Loads the weights (weights_path: --weights or a default), the context and the network.
std::unique_ptr<CamSession> open_cam_session(const Args& args, CamOptions* options);

}  // namespace uc::cli
