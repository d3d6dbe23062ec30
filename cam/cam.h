// Class activation maps (METHODS.md): Grad-CAM, Grad-CAM++, Score-CAM, Group-CAM and UnionCAM,
// on either backend. An Explainer holds one image at a time: set_image() runs the forward and
// the backward to the target layer once; each explain() reuses them.
#pragma once
#include <string>
#include <vector>

#include "cam/ops.h"
#include "runtime/network.h"
#include "weights/weights.h"

namespace uc {

enum class CamMethod { GradCam, GradCamPP, ScoreCam, GroupCam, UnionCam };
const char* cam_method_name(CamMethod m);           // "gradcam", "gradcampp", "scorecam", ...
CamMethod parse_cam_method(const std::string& name);  // usage error naming the choices
const std::vector<CamMethod>& all_cam_methods();

enum class MaskSpace { Normalized, Pixel };
enum class RegionMethod { ScoreCam, GroupCam };

struct CamOptions {
  int target_class = -1;   // -1: the top-1 class of the image
  std::string layer;       // "": the ReLU after the last convolution
  float theta = 10.f;      // UnionCAM denoising percentile, [0, 100]
  int groups = 32;         // Group-CAM groups
  RegionMethod region = RegionMethod::ScoreCam;  // UnionCAM's region map
  ScoreKind score = ScoreKind::Prob;
  MaskSpace mask_space = MaskSpace::Normalized;
  int batch = 0;           // masked inputs per forward; 0: the network's max_batch
};

struct UnionCamDetails {
  float theta = 0, beta_den = 0, beta_reg = 0, beta_dr = 0;
  bool fused = false;      // the selected map: L_dr ("fused") or L_reg ("region")
};

struct CamResult {
  CamMethod method = CamMethod::GradCam;
  int target_class = 0;
  int height = 0, width = 0;
  std::vector<float> map;  // H*W, row-major, values in [0,1]
  bool degenerate = false; // the map was constant before normalization (all zeros now)
  double ms = 0;           // wall time of explain(), device synchronised
  UnionCamDetails unioncam;  // UnionCAM only
};

class Explainer {
 public:
  // The network must have max_grad_batch >= 1; masked inputs use up to its max_batch.
  // `weights` supplies mean/std for pixel-space masking.
  Explainer(VggNetwork& net, const ModelWeights& weights, const CamOptions& options);

  // Bad options (layer that does not exist or is not a feature map, class out of range, theta
  // outside [0,100], groups < 1, batch < 0) are usage errors, raised before any work.
  static void validate(const CamOptions& options, const VggNetwork& net);

  // One image: normalized [3,H,W] planes (host). Runs forward and backward for the class.
  void set_image(const std::vector<float>& normalized_chw);
  int target_class() const { return class_; }
  const std::vector<float>& probabilities() const { return probs_; }  // softmax of the logits

  CamResult explain(CamMethod method);

  // Class scores s_c of masked copies of the current image: out[i] = s_c(maps[i] ⊙ x) with
  // the options' score kind and mask space, batched. maps: [m, H, W] on the network's backend.
  std::vector<float> masked_scores(const Tensor& maps, int m);
  // s_c of the baseline (black) image in the options' mask space.
  float baseline_score();

  VggNetwork& network() { return net_; }
  const CamOptions& options() const { return options_; }
  const Tensor& image() const { return x_; }       // normalized [3,H,W] on the backend
  const Tensor& baseline() const { return x_b_; }  // normalized baseline [3,H,W]

 private:
  // implementation state (device tensors for A, G, x, x_b, blur, scratch) is the implementer's
  VggNetwork& net_;
  CamOptions options_;
  int class_ = 0;
  std::vector<float> probs_;
  Tensor x_, x_b_;
};

}  // namespace uc
