// Evaluation metrics of METHODS.md. Every score here is the softmax probability of the class,
// whatever the explainer's score kind (METHODS: "All scores are softmax probabilities"); masks
// and substrates use the explainer's mask space.
#include "cam/metrics.h"

#include <algorithm>
#include <cmath>
#include <tuple>
#include <utility>

#include "core/error.h"

namespace uc {

namespace {
// AUC of n + 1 scores in percent: the trapezoid rule over n unit steps, divided by n.
double auc_percent(const std::vector<double>& s) {
  const size_t n = s.size() - 1;
  double sum = 0;
  for (double v : s) sum += v;
  return 100.0 * (sum - s.front() / 2 - s.back() / 2) / static_cast<double>(n);
}

std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }
}  // namespace

MapMetrics evaluate_map(Explainer& ex, const std::vector<float>& map,
                        const std::vector<uint8_t>* mask) {
  VggNetwork& net = ex.network();
  Context& ctx = net.context();
  const int H = net.input_h(), W = net.input_w(), HW = H * W;
  UC_ASSERT(map.size() == static_cast<size_t>(HW), "evaluate_map: the map is not H*W");
  UC_ASSERT(!mask || mask->size() == static_cast<size_t>(HW), "evaluate_map: the mask is not H*W");
  Tensor& L = ex.metric_map();
  L.copy_from_host(map.data(), HW);
  const Tensor &x = ex.image(), &x_b = ex.baseline();

  MapMetrics r;
  // Y and O through the same forward() in one batch, like the curves: Y taken from the
  // explanation's layer-by-layer pass could differ from O by the rounding of the other path
  // (fused BatchNorm, NHWC, TF32) and flip 1[Y < O] for a map that keeps the whole image.
  const int64_t image = int64_t(3) * HW;
  const std::vector<float> y_o =
      ex.scores_of(2, ScoreKind::Prob, [&](Tensor& batch, int first, int n) {
        for (int i = 0; i < n; ++i) {
          Tensor one = batch.view(i * image, {1, 3, H, W});
          if (first + i == 0)
            one.copy_from(x);
          else
            cam_masked_inputs(ctx, one, L, nullptr, 0, 1, x, x_b, H, W);
        }
      });
  r.y = y_o[0];
  r.o = y_o[1];
  // A class whose probability underflows to 0 (a user-named class) cannot drop: 0, not 0/0.
  r.drop = r.y > 0 ? 100.0 * std::max(0.0, r.y - r.o) / r.y : 0.0;
  r.increase = r.y < r.o;

  const int step = 2 * W, n = (HW + step - 1) / step;
  Tensor& order = ex.metric_order();
  cam_saliency_order(ctx, order, L, HW);
  auto curve = [&](const Tensor& start, const Tensor& source) {
    return to_double(ex.scores_of(n + 1, ScoreKind::Prob, [&](Tensor& batch, int first, int m) {
      cam_curve_images(ctx, batch, order, start, source, first, m, step, H, W);
    }));
  };
  r.deletion_curve = curve(x, x_b);
  r.insertion_curve = curve(ex.blurred(), x);
  r.deletion = auc_percent(r.deletion_curve);
  r.insertion = auc_percent(r.insertion_curve);

  if (mask) {
    const size_t peak = static_cast<size_t>(std::max_element(map.begin(), map.end()) - map.begin());
    r.pointing = (*mask)[peak] != 0 ? 1 : 0;
    double inside = 0, total = 0;
    for (size_t i = 0; i < map.size(); ++i) {
      total += map[i];
      if ((*mask)[i]) inside += map[i];
    }
    r.energy = total > 0 ? inside / total : 0;  // an all-zero map puts no energy in the object
  }
  return r;
}

namespace {
// Mean of per-image values and the half-width of its 95 % interval (1.96 sample standard
// deviations / sqrt(n); 0 for fewer than two values).
std::pair<double, double> mean_ci95(const std::vector<double>& v) {
  double sum = 0, sum_sq = 0;
  for (double x : v) sum += x;
  const double n = static_cast<double>(v.size()), mean = sum / n;
  for (double x : v) sum_sq += (x - mean) * (x - mean);
  return {mean, v.size() > 1 ? 1.96 * std::sqrt(sum_sq / (n - 1) / n) : 0.0};
}
}  // namespace

MetricsSummary summarize(const std::vector<MapMetrics>& per_image) {
  MetricsSummary s;
  s.images = static_cast<int>(per_image.size());
  if (per_image.empty()) return s;
  std::vector<double> drop, increase, insertion, deletion, overall, pointing, energy;
  for (const MapMetrics& m : per_image) {
    drop.push_back(m.drop);
    increase.push_back(m.increase ? 100.0 : 0.0);
    insertion.push_back(m.insertion);
    deletion.push_back(m.deletion);
    overall.push_back(m.insertion - m.deletion);
    if (m.pointing >= 0) pointing.push_back(m.pointing), energy.push_back(m.energy);
    if (s.insertion_curve.empty()) {
      s.insertion_curve.assign(m.insertion_curve.size(), 0.0);
      s.deletion_curve.assign(m.deletion_curve.size(), 0.0);
    }
    UC_ASSERT(m.insertion_curve.size() == s.insertion_curve.size() &&
                  m.deletion_curve.size() == s.deletion_curve.size(),
              "summarize: curves of different lengths (images of different sizes)");
    for (size_t i = 0; i < m.insertion_curve.size(); ++i)
      s.insertion_curve[i] += m.insertion_curve[i];
    for (size_t i = 0; i < m.deletion_curve.size(); ++i) s.deletion_curve[i] += m.deletion_curve[i];
  }
  const double n = s.images;
  for (double& v : s.insertion_curve) v /= n;
  for (double& v : s.deletion_curve) v /= n;
  std::tie(s.mean.avg_drop, s.ci95.avg_drop) = mean_ci95(drop);
  std::tie(s.mean.avg_increase, s.ci95.avg_increase) = mean_ci95(increase);
  std::tie(s.mean.insertion, s.ci95.insertion) = mean_ci95(insertion);
  std::tie(s.mean.deletion, s.ci95.deletion) = mean_ci95(deletion);
  // METHODS.md: Overall = Insertion - Deletion
  s.mean.overall = s.mean.insertion - s.mean.deletion;
  s.ci95.overall = mean_ci95(overall).second;
  if (!pointing.empty()) {
    std::tie(s.mean.pointing, s.ci95.pointing) = mean_ci95(pointing);
    std::tie(s.mean.energy, s.ci95.energy) = mean_ci95(energy);
  }
  return s;
}

}  // namespace uc
