#include <cmath>

#include "core/error.h"
#include "weights/formats.h"

namespace uc {

HostArray read_finite(const h5::File& f, const std::string& dataset) {
  HostArray a = f.read_floats(dataset);
  for (size_t i = 0; i < a.data.size(); ++i) {
    if (std::isfinite(a.data[i])) continue;
    std::string index;  // the element's position along each axis
    for (size_t d = a.shape.size(), rest = i; d-- > 0; rest /= a.shape[d])
      index = std::to_string(rest % a.shape[d]) + (index.empty() ? "" : ",") + index;
    fail_input(f.path() + ": dataset '" + dataset + "' holds " +
               (std::isnan(a.data[i]) ? "NaN" : "Inf") + " at element " + std::to_string(i) + " [" +
               index + "]; weights must be finite");
  }
  return a;
}

ModelWeights load_weights(const std::string& path) {
  const h5::File f = h5::File::open(path);
  return is_keras_file(f) ? read_keras(f) : read_torchvision(f);
}

}  // namespace uc
