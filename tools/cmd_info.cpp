// `unioncam info --weights W.h5 [--json]`: what a weights file holds.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "io/preprocess.h"
#include "tools/cli.h"
#include "tools/model_setup.h"
#include "weights/weights.h"

namespace uc::cli {

static const char* kInfoHelp =
    "usage: unioncam info [--weights W.h5] [--json]\n"
    "\n"
    "Describes a weights file (torchvision HDF5 layout or a Keras VGG16/19 file):\n"
    "architecture, parameter count, input size, preprocessing and classes.\n"
    "\n"
    "  --weights FILE  the HDF5 weights file\n"
    "                  (default: $UNIONCAM_WEIGHTS, else the bundled demo model)\n"
    "  --json          print one JSON document instead of text\n"
    "\n"
    "example: unioncam info --weights vgg16.h5 --json\n";

int cmd_info(int argc, char** argv) {
  Args args("info", argc, argv, {"weights"}, {"json", "help"});
  if (args.flag("help")) {
    std::fputs(kInfoHelp, stdout);
    return 0;
  }
  if (!args.positional().empty())
    fail_usage("info: unexpected argument '" + args.positional()[0] + "'");
  const ModelWeights w = load_weights(weights_path(args, false));
  const std::vector<std::string> names = effective_class_names(w);
  const Preprocess preprocess = choose_preprocess("", w.preprocess, w.path);
  std::ostringstream o;
  if (args.flag("json")) {
    o << "{\"arch\":" << json_string(w.arch.name()) << ",\"depth\":" << w.arch.depth
      << ",\"batchnorm\":" << (w.arch.batchnorm ? "true" : "false")
      << ",\"params\":" << w.parameter_count() << ",\"input_size\":";
    if (w.input_h == w.input_w)
      o << w.input_h;
    else
      o << "[" << w.input_h << "," << w.input_w << "]";
    o << ",\"layout\":" << json_string(w.layout == WeightsLayout::Keras ? "keras" : "torchvision")
      << ",\"mean\":[" << json_number(w.mean[0]) << "," << json_number(w.mean[1]) << ","
      << json_number(w.mean[2]) << "],\"std\":[" << json_number(w.std[0]) << ","
      << json_number(w.std[1]) << "," << json_number(w.std[2])
      << "],\"preprocess\":" << json_string(preprocess_name(preprocess))
      << ",\"classes\":" << w.arch.classes() << ",\"class_names\":[";
    for (size_t i = 0; i < names.size(); ++i) o << (i ? "," : "") << json_string(names[i]);
    o << "]}\n";
  } else {
    int convs = 0;
    std::ostringstream widths;
    for (const FeatureModule& m : w.arch.features)
      if (m.kind == FeatureModule::Conv) widths << (convs++ ? " " : "") << m.out_channels;
    o << "file:        " << w.path << " ("
      << (w.layout == WeightsLayout::Keras ? "Keras layout" : "torchvision layout") << ")\n"
      << "arch:        " << w.arch.name() << " (" << convs << " convolutions"
      << (w.arch.batchnorm ? ", BatchNorm" : "") << ")\n"
      << "conv widths: " << widths.str() << "\n"
      << "classifier:  " << w.arch.classifier_widths[0] << " -> " << w.arch.classifier_widths[1]
      << " -> " << w.arch.classifier_widths[2] << "\n"
      << "parameters:  " << w.parameter_count() << "\n"
      << "input size:  " << w.input_h << "x" << w.input_w << "\n"
      << "mean / std:  " << w.mean[0] << " " << w.mean[1] << " " << w.mean[2] << " / " << w.std[0]
      << " " << w.std[1] << " " << w.std[2] << "\n"
      << "preprocess:  " << preprocess_name(preprocess)
      << (w.preprocess.empty() ? " (the default: the file names none)" : " (from the weights file)")
      << "\n"
      << "classes:     " << w.arch.classes() << ", names " << class_names_source(w) << "\n";
  }
  std::cout << o.str();
  return 0;
}

}  // namespace uc::cli
