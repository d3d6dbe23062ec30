// Class activation maps (METHODS.md): Grad-CAM, Grad-CAM++, Score-CAM, Group-CAM and UnionCAM,
// on either backend. An Explainer holds one image at a time: set_image() runs the forward and
// the backward to the target layer once; each explain() reuses them.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cam/ops.h"
#include "cam/trace.h"
#include "runtime/network.h"

namespace uc {

enum class CamMethod { GradCam, GradCamPP, ScoreCam, GroupCam, UnionCam };
const char* cam_method_name(CamMethod m);             // "gradcam", "gradcampp", "scorecam", ...
CamMethod parse_cam_method(const std::string& name);  // usage error naming the choices
const std::vector<CamMethod>& all_cam_methods();

enum class MaskSpace { Normalized, Pixel };
enum class RegionMethod { ScoreCam, GroupCam };

struct CamOptions {
  int target_class = -1;                         // -1: the top-1 class of the image
  std::string layer;                             // "": the ReLU after the last convolution
  float theta = 10.f;                            // UnionCAM denoising percentile, [0, 100]
  int groups = 32;                               // Group-CAM groups
  RegionMethod region = RegionMethod::ScoreCam;  // UnionCAM's region map
  ScoreKind score = ScoreKind::Prob;
  MaskSpace mask_space = MaskSpace::Normalized;
  int batch = 0;  // masked inputs per forward; 0: the network's max_batch
};

struct UnionCamDetails {
  float theta = 0, beta_den = 0, beta_reg = 0, beta_dr = 0;
  bool fused = false;  // the selected map: L_dr ("fused") or L_reg ("region")
};

struct CamResult {
  CamMethod method = CamMethod::GradCam;
  int target_class = 0;
  int height = 0, width = 0;
  std::vector<float> map;    // H*W, row-major, values in [0,1]
  bool degenerate = false;   // the map was constant before normalization (all zeros now)
  double ms = 0;             // wall time of explain(), device synchronised
  int masked_inputs = 0;     // images explain() forwarded to score them: its cost in forwards
  int live_channels = -1;    // Score-CAM (also as UnionCAM's region map): K', the non-constant
                             // channels it forwarded; -1 when Score-CAM did not run
  UnionCamDetails unioncam;  // UnionCAM only
};

class Explainer {
 public:
  // The network must have max_grad_batch >= 1; masked inputs use up to its max_batch. Its input
  // mean/std give pixel-space masking its black image.
  Explainer(VggNetwork& net, const CamOptions& options);

  // Bad options (layer that does not exist or is not a feature map, class out of range, theta
  // outside [0,100], groups < 1, batch < 0) are usage errors, raised before any work.
  static void validate(const CamOptions& options, const VggNetwork& net);

  // One image: normalized [3,H,W] planes (host). Runs forward and backward for the class.
  void set_image(const std::vector<float>& normalized_chw);
  int target_class() const { return class_; }
  const std::vector<float>& probabilities() const { return probs_; }  // softmax of the logits

  CamResult explain(CamMethod method);

  // With a trace attached, set_image() and explain() copy their intermediates into it (names and
  // shapes: cam/trace.h, README "Dumps"); nullptr detaches it. The caller owns the trace.
  void set_trace(CamTrace* trace) { trace_ = trace; }

  // Scores of `count` images built on the device in batches: build(batch, first, m) fills
  // batch [m,3,H,W] with images first..first+m-1; returns their scores of the class (`kind`).
  using BatchBuilder = std::function<void(Tensor& batch, int first, int m)>;
  std::vector<float> scores_of(int count, ScoreKind kind, const BatchBuilder& build);

  VggNetwork& network() { return net_; }
  const CamOptions& options() const { return options_; }
  const Tensor& image() const { return x_; }       // normalized [3,H,W] on the backend
  const Tensor& baseline() const { return x_b_; }  // normalized baseline [3,H,W]
  // Device scratch for metrics (a map [1, H*W] and its pixel order [H*W]), allocated once so
  // evaluating a map allocates nothing.
  Tensor& metric_map() { return metric_map_; }
  Tensor& metric_order() { return metric_order_; }
  const Tensor& blurred() const { return blur_; }  // Group-CAM's blur(x), normalized [3,H,W]

 private:
  // Each method writes its H*W map (normalized) into `out` and returns whether it was degenerate.
  bool grad_cam(Tensor& out, bool plus_plus);
  bool score_cam(Tensor& out);
  bool group_cam(Tensor& out);
  bool union_cam(Tensor& out, UnionCamDetails& details);
  // norm() of one H*W map in place; true when it was constant.
  bool normalize(Tensor& map);
  // s_c(maps[index[i]] ⊙ x + (1 - maps[index[i]]) ⊙ substrate) for i < m (index null: maps[i]).
  // Scores of `count` images built by `build`, left on the device: a view of scores_ [count].
  Tensor device_scores(int count, ScoreKind kind, const BatchBuilder& build);
  // kind: the options' score (s_c) except for Group-CAM, which METHODS scores by probability.
  Tensor masked(const Tensor& maps, const Tensor* index, int m, const Tensor& substrate,
                ScoreKind kind);
  // Uploads host weights into weights_ and returns the view of their n entries.
  Tensor upload_weights(const std::vector<float>& w);

  VggNetwork& net_;
  CamOptions options_;
  std::string layer_;
  int K_ = 0, h_ = 0, w_ = 0, H_ = 0, W_ = 0, batch_ = 0;
  int class_ = 0;
  std::vector<float> probs_;
  Tensor x_, x_b_, blur_;
  // Scratch planned in the constructor and reused by every set_image()/explain().
  Tensor act_, grad_;     // A and G at the target layer [K, h*w]
  Tensor seed_;           // one-hot d logits [1, classes]
  Tensor weights_;        // per-channel (or per-group) weights [K + 1]
  Tensor pixel_weights_;  // UnionCAM AMD weights [K, h*w]
  Tensor low_;            // low-resolution sums [K, h*w]
  Tensor up_, masks_;     // upsampled maps and masks [K + 1, H*W]
  Tensor index_;          // non-constant channels [K]
  Tensor union_maps_;     // zero, L_den, L_reg [3, H*W]
  Tensor map_;            // a method's result [H*W]
  Tensor min_max_;        // lo, hi of one map [2]
  Tensor inputs_;         // a batch of masked inputs [batch, 3, H, W]
  Tensor metric_map_, metric_order_;
  Tensor scores_;                  // scores of one batched pass [max(K + 1, curve images)]
  int forwarded_ = 0, live_ = -1;  // CamResult's masked_inputs and live_channels, per explain()
  CamTrace* trace_ = nullptr;
  void trace_score_cam(const Tensor& weights, const Tensor& masks, int live);
  void trace_union_cam(const Tensor& den, const Tensor& reg, float baseline_score);
  // Copies the first prod(shape) values of `t` into the trace as `name` (when tracing).
  void record(const std::string& name, const Tensor& t, std::vector<int64_t> shape,
              bool int_valued = false);
};

// Masked inputs per forward when none is asked for: on the GPU as many as a quarter of the free
// memory holds (at most 32), on the CPU 32.
int default_masked_batch(Backend backend, int input_h, int input_w);

// A network planned for explanations (one image forward and backward, masked inputs in batches of
// `max_batch`) and its Explainer, the options validated before any work. On a full device the
// batch is halved and the plan retried down to 1; `on_retry(from, to)` hears of each retry, and
// an explicit options.batch follows the batch down.
struct ExplainerPlan {
  std::unique_ptr<VggNetwork> network;
  std::unique_ptr<Explainer> explainer;
};
ExplainerPlan plan_explainer(Context& ctx, const ModelWeights& weights, CamOptions& options,
                             int max_batch, const std::function<void(int, int)>& on_retry = {});

}  // namespace uc
