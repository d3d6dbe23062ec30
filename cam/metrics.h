// Evaluation metrics (METHODS.md): Average Drop / Increase, Insertion / Deletion AUC, and the
// localization metrics when an object mask is given. Curve images are built on the device and
// forwarded in batches.
#pragma once
#include <cstdint>
#include <vector>

#include "cam/cam.h"

namespace uc {

struct MapMetrics {
  double y = 0;                                         // s_c(x)
  double o = 0;                                         // s_c(L ⊙ x)
  double drop = 0;                                      // 100 * max(0, y - o) / y
  bool increase = false;                                // y < o
  double insertion = 0, deletion = 0;                   // AUC in percent
  std::vector<double> insertion_curve, deletion_curve;  // n + 1 scores each
  double pointing = -1;                                 // 1 hit / 0 miss; -1 without a mask
  double energy = -1;                                   // sum_mask L / sum L; -1 without a mask
};

// Evaluates one map (H*W in [0,1]) of the Explainer's current image and class. `mask`
// (H*W, non-zero = object) is optional.
MapMetrics evaluate_map(Explainer& explainer, const std::vector<float>& map,
                        const std::vector<uint8_t>* mask = nullptr);

// Means over images, in percent where METHODS.md says so, each with the half-width of its 95 %
// confidence interval (1.96 standard errors of the mean over images; 0 for a single image), so
// that a reader can tell a ranking from noise.
// One value per metric: means over the images, or the half-widths of their 95 % intervals.
struct MetricValues {
  double avg_drop = 0, avg_increase = 0, insertion = 0, deletion = 0, overall = 0;
  double pointing = -1, energy = -1;  // -1 when no image had a mask
};
struct MetricsSummary {
  int images = 0;
  MetricValues mean, ci95;                              // ci95: half-widths, same units
  std::vector<double> insertion_curve, deletion_curve;  // mean curves
};
MetricsSummary summarize(const std::vector<MapMetrics>& per_image);

}  // namespace uc
