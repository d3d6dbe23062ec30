// Every intermediate of METHODS.md that an explanation computes, copied to the host when the
// Explainer has a trace attached (Explainer::set_trace): what `explain --dump` writes. Names are
// the dump's ("activations", "gradcam/weights", "unioncam/L_den", ...). Tracing copies tensors
// the methods computed anyway; it changes no result.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace uc {

struct TraceArray {
  std::vector<int64_t> shape;
  std::vector<float> values;  // float32 data, or integers held exactly (int_valued)
  bool int_valued = false;    // written as int32 (scorecam/channels)
};

struct CamTrace {
  bool masks = false;                          // also the masked-input maps (large)
  std::map<std::string, TraceArray> arrays;    // by dump name
  std::map<std::string, double> numbers;       // attributes: "unioncam/beta_den", ...
  std::map<std::string, std::string> strings;  // attributes: "unioncam/selected"
  void clear() {
    arrays.clear();
    numbers.clear();
    strings.clear();
  }
};

}  // namespace uc
