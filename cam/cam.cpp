// The five CAM methods of METHODS.md, built only from cam/ops.h and the network so that one code
// path runs on both backends. Per explanation the host sees only scalars and score vectors
// (never a channel's map) and the final H*W map.
#include "cam/cam.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.h"
#include "layers/layers.h"

namespace uc {

namespace {
const std::vector<CamMethod> kMethods = {CamMethod::GradCam, CamMethod::GradCamPP,
                                         CamMethod::ScoreCam, CamMethod::GroupCam,
                                         CamMethod::UnionCam};
constexpr int kBlurSize = 51;  // Group-CAM's blur: 51x51 taps, sigma 50
constexpr float kBlurSigma = 50.f;
}  // namespace

const char* cam_method_name(CamMethod m) {
  switch (m) {
    case CamMethod::GradCam: return "gradcam";
    case CamMethod::GradCamPP: return "gradcampp";
    case CamMethod::ScoreCam: return "scorecam";
    case CamMethod::GroupCam: return "groupcam";
    case CamMethod::UnionCam: return "unioncam";
  }
  return "?";
}

CamMethod parse_cam_method(const std::string& name) {
  std::string choices;
  for (CamMethod m : kMethods) {
    if (name == cam_method_name(m)) return m;
    choices += std::string(choices.empty() ? "" : ", ") + cam_method_name(m);
  }
  fail_usage("unknown CAM method '" + name + "'; expected one of " + choices);
}

const std::vector<CamMethod>& all_cam_methods() { return kMethods; }

void Explainer::validate(const CamOptions& o, const VggNetwork& net) {
  const std::string layer = o.layer.empty() ? net.last_conv_relu() : o.layer;
  if (net.layer_index(layer) < 0) fail_usage("unknown layer '" + layer + "'; expected features.N");
  if (layer.rfind("features.", 0) != 0 || !net.layer(layer).feature_map())
    fail_usage("layer '" + layer + "' is not a feature map; expected one of the features.N layers");
  if (o.target_class < -1 || o.target_class >= net.classes())
    fail_usage("class " + std::to_string(o.target_class) + " out of range; the model has " +
               std::to_string(net.classes()) + " classes (0.." + std::to_string(net.classes() - 1) +
               ")");
  if (!(o.theta >= 0.f && o.theta <= 100.f))
    fail_usage("theta " + std::to_string(o.theta) + " outside [0, 100]");
  if (o.groups < 1) fail_usage("groups must be at least 1, got " + std::to_string(o.groups));
  if (o.batch < 0)
    fail_usage("batch must be 0 (automatic) or positive, got " + std::to_string(o.batch));
}

Explainer::Explainer(VggNetwork& net, const CamOptions& options) : net_(net), options_(options) {
  validate(options, net);
  UC_ASSERT(net.max_grad_batch() >= 1, "Explainer needs a network with max_grad_batch >= 1");
  layer_ = options.layer.empty() ? net.last_conv_relu() : options.layer;
  const Shape& s = net.layer(layer_).out_shape;
  K_ = static_cast<int>(s[0]), h_ = static_cast<int>(s[1]), w_ = static_cast<int>(s[2]);
  H_ = net.input_h(), W_ = net.input_w();
  // The network's planned activations bound a forward: a larger batch option is capped there.
  batch_ = options.batch > 0 ? std::min(options.batch, net.max_batch()) : net.max_batch();

  const Backend b = net.context().backend();
  const int64_t hw = int64_t(h_) * w_, HW = int64_t(H_) * W_;
  const int curve_images = (H_ * W_ + 2 * W_ - 1) / (2 * W_) + 1;  // metrics.cpp's n + 1
  x_ = Tensor::zeros(b, {3, H_, W_});
  blur_ = Tensor::zeros(b, {3, H_, W_});
  // The baseline is the black image of the mask space: 0 (normalized) or -mean/std (pixel).
  std::vector<float> xb(static_cast<size_t>(3 * HW), 0.f);
  if (options.mask_space == MaskSpace::Pixel)
    for (int c = 0; c < 3; ++c)
      std::fill(xb.begin() + c * HW, xb.begin() + (c + 1) * HW,
                -net.input_mean()[c] / net.input_std()[c]);
  x_b_ = Tensor::from_host(b, {3, H_, W_}, xb);

  act_ = Tensor::zeros(b, {K_, hw});
  grad_ = Tensor::zeros(b, {K_, hw});
  seed_ = Tensor::zeros(b, {1, net.classes()});
  weights_ = Tensor::zeros(b, {K_ + 1});
  pixel_weights_ = Tensor::zeros(b, {K_, hw});
  low_ = Tensor::zeros(b, {K_, hw});
  up_ = Tensor::zeros(b, {K_ + 1, HW});
  masks_ = Tensor::zeros(b, {K_ + 1, HW});
  index_ = Tensor::zeros(b, {K_});
  union_maps_ = Tensor::zeros(b, {3, HW});
  map_ = Tensor::zeros(b, {HW});
  min_max_ = Tensor::zeros(b, {2});
  inputs_ = Tensor::zeros(b, {batch_, 3, H_, W_});
  metric_map_ = Tensor::zeros(b, {1, HW});
  metric_order_ = Tensor::zeros(b, {HW});
  scores_ = Tensor::zeros(b, {std::max({K_ + 1, curve_images, 3})});
}

void Explainer::record(const std::string& name, const Tensor& t, std::vector<int64_t> shape,
                       bool int_valued) {
  if (!trace_) return;
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> all = t.to_host();
  UC_ASSERT(n <= static_cast<int64_t>(all.size()), "record: " + name + " larger than its tensor");
  all.resize(static_cast<size_t>(n));
  trace_->arrays[name] = {std::move(shape), std::move(all), int_valued};
}

void Explainer::set_image(const std::vector<float>& normalized_chw) {
  Context& ctx = net_.context();
  UC_ASSERT(normalized_chw.size() == static_cast<size_t>(3 * H_ * W_),
            "set_image: expected 3x" + std::to_string(H_) + "x" + std::to_string(W_) + " values");
  x_.copy_from_host(normalized_chw.data(), x_.numel());
  cam_gaussian_blur(ctx, blur_, x_, H_, W_, kBlurSize, kBlurSigma);

  const std::vector<float> logits = net_.forward_keep(x_.reshape({1, 3, H_, W_}), layer_).to_host();
  act_.copy_from(net_.activation(layer_));
  class_ = options_.target_class >= 0
               ? options_.target_class
               : static_cast<int>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  const std::vector<double> probs = softmax(logits.data(), static_cast<int>(logits.size()));
  probs_.assign(probs.begin(), probs.end());

  // G = d z_c / d A: the gradient of the class logit (Grad-CAM's definition).
  std::vector<float> one_hot(logits.size(), 0.f);
  one_hot[static_cast<size_t>(class_)] = 1.f;
  seed_.copy_from_host(one_hot.data(), seed_.numel());
  grad_.copy_from(net_.backward(seed_, layer_));
  if (trace_) {
    trace_->clear();
    record("input", x_, {3, H_, W_});
    trace_->arrays["logits"] = {{int64_t(logits.size())}, logits, false};
    record("activations", act_, {K_, h_, w_});
    record("gradients", grad_, {K_, h_, w_});
  }
}

std::vector<float> Explainer::scores_of(int count, ScoreKind kind, const BatchBuilder& build) {
  if (count <= 0) return {};
  return device_scores(count, kind, build).to_host();
}

Tensor Explainer::device_scores(int count, ScoreKind kind, const BatchBuilder& build) {
  UC_ASSERT(count > 0 && count <= scores_.numel(), "device_scores: count outside the score buffer");
  Context& ctx = net_.context();
  forwarded_ += count;
  for (int first = 0; first < count; first += batch_) {
    const int m = std::min(batch_, count - first);
    Tensor batch = inputs_.view(0, {m, 3, H_, W_});
    build(batch, first, m);
    cam_class_scores(ctx, scores_, first, net_.forward(batch), m, net_.classes(), class_, kind);
  }
  return scores_.view(0, {count});
}

Tensor Explainer::masked(const Tensor& maps, const Tensor* index, int m, const Tensor& substrate,
                         ScoreKind kind) {
  Context& ctx = net_.context();
  return device_scores(m, kind, [&](Tensor& batch, int first, int n) {
    cam_masked_inputs(ctx, batch, maps, index, first, n, x_, substrate, H_, W_);
  });
}

Tensor Explainer::upload_weights(const std::vector<float>& w) {
  const int64_t n = static_cast<int64_t>(w.size());
  weights_.copy_from_host(w.data(), n);
  return weights_.view(0, {n});
}

bool Explainer::normalize(Tensor& map) {
  Context& ctx = net_.context();
  const int HW = H_ * W_;
  Tensor lo = min_max_.view(0, {1}), hi = min_max_.view(1, {1});
  cam_map_min_max(ctx, lo, hi, map, 1, HW);
  const std::vector<float> lh = min_max_.to_host();
  cam_normalize_maps(ctx, map, 1, HW);
  return lh[0] == lh[1];
}

bool Explainer::grad_cam(Tensor& out, bool plus_plus) {
  Context& ctx = net_.context();
  const int hw = h_ * w_;
  Tensor w = weights_.view(0, {K_});
  if (plus_plus)
    cam_gradcampp_weights(ctx, w, grad_, act_, K_, hw);
  else
    cam_channel_means(ctx, w, grad_, K_, hw);
  record(plus_plus ? "gradcampp/weights" : "gradcam/weights", w, {K_});
  Tensor sum = low_.view(0, {hw});
  cam_channel_weighted_sum(ctx, sum, act_, w, K_, hw, true);
  cam_upsample_bilinear(ctx, out, sum, 1, h_, w_, H_, W_);
  return normalize(out);
}

bool Explainer::score_cam(Tensor& out) {
  Context& ctx = net_.context();
  const int HW = H_ * W_;
  Tensor U = up_.view(0, {K_, HW}), M = masks_.view(0, {K_, HW});
  cam_upsample_bilinear(ctx, U, act_, K_, h_, w_, H_, W_);
  // Constant channels keep weight 0 and are never forwarded: their masked input is the baseline.
  const int live = cam_nonconstant_maps(ctx, index_, U, K_, HW);
  live_ = live;
  M.copy_from(U);
  cam_normalize_maps(ctx, M, K_, HW);
  // Each forwarded channel's score goes to its weight slot on the device; the rest stay 0.
  Tensor w = weights_.view(0, {K_});
  if (live > 0)
    cam_scatter(ctx, w, masked(M, &index_, live, x_b_, options_.score), index_, live, K_);
  else
    w.fill_zero();
  if (trace_) trace_score_cam(w, M, live);
  cam_channel_weighted_sum(ctx, out, U, w, K_, HW, true);
  return normalize(out);
}

bool Explainer::group_cam(Tensor& out) {
  Context& ctx = net_.context();
  const int hw = h_ * w_, HW = H_ * W_;
  const int G = cam_group_count(K_, options_.groups);
  Tensor w = weights_.view(0, {K_});
  cam_channel_means(ctx, w, grad_, K_, hw);
  Tensor S = low_.view(0, {G, hw}), U = up_.view(0, {G, HW});
  cam_group_sums(ctx, S, act_, w, K_, hw, options_.groups);
  cam_upsample_bilinear(ctx, U, S, G, h_, w_, H_, W_);
  // Mask 0 is all zeros, so image 0 is the blurred image x~ itself; masks 1..G are norm(U_g).
  masks_.view(0, {HW}).fill_zero();
  Tensor M = masks_.view(HW, {G, HW});
  M.copy_from(U);
  cam_normalize_maps(ctx, M, G, HW);
  // Probabilities whatever --score says: METHODS writes p_c here (Group-CAM's own softmax
  // scores), not the s_c of Score-CAM and UnionCAM's β.
  Tensor score = weights_.view(0, {G});  // the channel weights are no longer needed
  const Tensor probs = masked(masks_, nullptr, G + 1, blur_, ScoreKind::Prob);
  if (trace_) {
    trace_->arrays["groupcam/blurred_score"] = {{}, {probs.to_host().at(0)}, false};
    if (trace_->masks) record("groupcam/masks", M, {G, H_, W_});
  }
  cam_score_differences(ctx, score, probs, 1, G, true);
  record("groupcam/scores", score, {G});
  cam_channel_weighted_sum(ctx, out, U, score, G, HW, false);
  return normalize(out);
}

bool Explainer::union_cam(Tensor& out, UnionCamDetails& d) {
  Context& ctx = net_.context();
  const int hw = h_ * w_, HW = H_ * W_;
  // Rows of union_maps_: a zero mask (its masked input is x_b), L_den, L_reg.
  union_maps_.view(0, {HW}).fill_zero();
  Tensor den = union_maps_.view(HW, {HW}), reg = union_maps_.view(2 * HW, {HW});
  cam_denoised_pixel_weights(ctx, pixel_weights_, grad_, K_, hw, options_.theta);
  Tensor sum = low_.view(0, {hw});
  cam_pixel_weighted_sum(ctx, sum, act_, pixel_weights_, K_, hw, true);
  cam_upsample_bilinear(ctx, den, sum, 1, h_, w_, H_, W_);
  normalize(den);
  const bool reg_degenerate =
      options_.region == RegionMethod::ScoreCam ? score_cam(reg) : group_cam(reg);

  // X_b, L_den ⊙ x, L_reg ⊙ x
  const std::vector<float> s = masked(union_maps_, nullptr, 3, x_b_, options_.score).to_host();
  d.theta = options_.theta;
  d.beta_den = s[1] - s[0];
  d.beta_reg = s[2] - s[0];
  if (trace_) trace_union_cam(den, reg, s[0]);
  const float bd = std::max(d.beta_den, 0.f), br = std::max(d.beta_reg, 0.f);
  if (bd == 0.f && br > 0.f) {  // L_dr would be L_reg itself: no fourth forward
    d.beta_dr = d.beta_reg;
    d.fused = false;
    out.copy_from(reg);
    record("unioncam/L_dr", reg, {H_, W_});
    return reg_degenerate;
  }
  // Both weights 0: the unweighted union norm(L_den + L_reg).
  const std::vector<float> beta =
      bd + br > 0.f ? std::vector<float>{bd, br} : std::vector<float>{1.f, 1.f};
  Tensor dr = map_;
  cam_channel_weighted_sum(ctx, dr, union_maps_.view(HW, {2, HW}), upload_weights(beta), 2, HW,
                           false);
  const bool dr_degenerate = normalize(dr);
  d.beta_dr = masked(dr, nullptr, 1, x_b_, options_.score).to_host().at(0) - s[0];
  record("unioncam/L_dr", dr, {H_, W_});
  d.fused = d.beta_dr > d.beta_reg;
  out.copy_from(d.fused ? dr : reg);
  return d.fused ? dr_degenerate : reg_degenerate;
}

void Explainer::trace_score_cam(const Tensor& weights, const Tensor& masks, int live) {
  // s_k for the channels forwarded, NaN for the constant ones that were skipped.
  const std::vector<float> w = weights.to_host(), index = index_.to_host();
  std::vector<float> scores(static_cast<size_t>(K_), std::nanf(""));
  std::vector<float> channels(index.begin(), index.begin() + live);
  for (float k : channels) scores[static_cast<size_t>(k)] = w[static_cast<size_t>(k)];
  trace_->arrays["scorecam/scores"] = {{K_}, scores, false};
  trace_->arrays["scorecam/channels"] = {{live}, channels, true};
  if (trace_->masks) {
    const std::vector<float> all = masks.to_host();
    std::vector<float> forwarded;
    const size_t HW = size_t(H_) * W_;
    for (float k : channels)
      forwarded.insert(forwarded.end(), all.begin() + size_t(k) * HW,
                       all.begin() + (size_t(k) + 1) * HW);
    trace_->arrays["scorecam/masks"] = {{live, H_, W_}, forwarded, false};
  }
}

void Explainer::trace_union_cam(const Tensor& den, const Tensor& reg, float baseline_score) {
  // t_k and alpha_k as the CPU's cam_denoised_pixel_weights computes them, from G.
  const std::vector<float> g = grad_.to_host();
  const int hw = h_ * w_;
  std::vector<float> threshold(static_cast<size_t>(K_)), alpha(static_cast<size_t>(K_));
  std::vector<float> scratch(static_cast<size_t>(hw));
  for (int k = 0; k < K_; ++k) {
    const Denoising d =
        denoising_of_channel(g.data() + size_t(k) * hw, hw, options_.theta, scratch.data());
    threshold[size_t(k)] = static_cast<float>(d.threshold);
    alpha[size_t(k)] = static_cast<float>(d.alpha);
  }
  trace_->arrays["unioncam/threshold"] = {{K_}, threshold, false};
  trace_->arrays["unioncam/alpha"] = {{K_}, alpha, false};
  record("unioncam/L_den", den, {H_, W_});
  record("unioncam/L_reg", reg, {H_, W_});
  trace_->arrays["baseline_score"] = {{}, {baseline_score}, false};
}

CamResult Explainer::explain(CamMethod method) {
  const auto start = std::chrono::steady_clock::now();
  CamResult r;
  r.method = method;
  r.target_class = class_;
  r.height = H_, r.width = W_;
  Tensor out = up_.view(int64_t(K_) * H_ * W_, {H_ * W_});  // row K of up_: free in every method
  forwarded_ = 0, live_ = -1;
  switch (method) {
    case CamMethod::GradCam: r.degenerate = grad_cam(out, false); break;
    case CamMethod::GradCamPP: r.degenerate = grad_cam(out, true); break;
    case CamMethod::ScoreCam: r.degenerate = score_cam(out); break;
    case CamMethod::GroupCam: r.degenerate = group_cam(out); break;
    case CamMethod::UnionCam: r.degenerate = union_cam(out, r.unioncam); break;
  }
  r.map = out.to_host();
  if (trace_) {
    trace_->arrays[std::string(cam_method_name(method)) + "/map"] = {{H_, W_}, r.map, false};
    if (method == CamMethod::UnionCam) {
      trace_->numbers["unioncam/beta_den"] = r.unioncam.beta_den;
      trace_->numbers["unioncam/beta_reg"] = r.unioncam.beta_reg;
      trace_->numbers["unioncam/beta_dr"] = r.unioncam.beta_dr;
      trace_->strings["unioncam/selected"] = r.unioncam.fused ? "fused" : "region";
    }
  }
  r.masked_inputs = forwarded_;
  r.live_channels = live_;
  net_.context().synchronize();
  r.ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace uc
