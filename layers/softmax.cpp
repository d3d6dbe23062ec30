#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "layers/layers.h"

namespace uc {

std::vector<double> softmax(const float* logits, int count) {
  UC_ASSERT(count > 0, "softmax: no logits");
  const double top = *std::max_element(logits, logits + count);
  std::vector<double> p(static_cast<size_t>(count));
  double sum = 0;
  for (int i = 0; i < count; ++i) sum += p[static_cast<size_t>(i)] = std::exp(logits[i] - top);
  for (double& v : p) v /= sum;
  return p;
}

}  // namespace uc
