// The CAM-specific operations: free functions over device tensors, dispatching on the context
// like layers/ (CPU reference in cam/ops.cpp, hand-written CUDA kernels in cam/ops.cu). An
// explanation on the CUDA backend chains these without copying per-channel data to the host.
//
// Conventions: one image at a time; the target layer's activations A and gradients G are
// [K, h, w] (K channels of h*w); maps are [M, H, W]; images are [3, H, W] planes; batches of
// images are [m, 3, H, W]. Counts are explicit arguments, as in layers/.
#pragma once
#include <array>

#include "core/context.h"
#include "core/tensor.h"

namespace uc {

// ---- channel weights from gradients ----------------------------------------------------------
// weights[k] = mean_ij G[k,ij]  (Grad-CAM, Group-CAM)
void cam_channel_means(Context& ctx, Tensor& weights, const Tensor& g, int K, int hw);
// Grad-CAM++ closed form (pytorch-grad-cam): a = G^2 / (2 G^2 + (sum_ab A_kab) G^3 + 1e-6),
// a = 0 where G == 0; weights[k] = sum_ij ReLU(G) * a.
void cam_gradcampp_weights(Context& ctx, Tensor& weights, const Tensor& g, const Tensor& a, int K,
                           int hw);
// UnionCAM AMD: t_k = theta-th percentile of G[k,:] (linear interpolation, NumPy's default);
// Ghat = G where G >= t_k else 0; alpha_k = 1 / sum ReLU(Ghat_k) (0 when the sum is 0);
// p[k,ij] = alpha_k * ReLU(Ghat[k,ij]).
void cam_denoised_pixel_weights(Context& ctx, Tensor& p, const Tensor& g, int K, int hw,
                                float theta);
// t_k and alpha_k of one channel's h*w gradients on the host (the CPU op's arithmetic; `scratch`
// holds hw floats), for the dump.
struct Denoising {
  double threshold = 0, alpha = 0;
};
Denoising denoising_of_channel(const float* g, int hw, float theta, float* scratch);

// ---- weighted sums over channels -------------------------------------------------------------
// out[ij] = sum_k weights[k] * A[k,ij], then ReLU if `relu`. The rows are an activation's channels
// (Grad-CAM) or M maps weighted by their scores (Score-CAM, Group-CAM, UnionCAM's union).
void cam_channel_weighted_sum(Context& ctx, Tensor& out, const Tensor& a, const Tensor& weights,
                              int K, int hw, bool relu);
// out[ij] = sum_k p[k,ij] * A[k,ij], then ReLU if `relu`.
void cam_pixel_weighted_sum(Context& ctx, Tensor& out, const Tensor& a, const Tensor& p, int K,
                            int hw, bool relu);
// Group-CAM: channels split into contiguous groups of ceil(K/G) (torch.chunk; there may be fewer
// than G groups); out[g,ij] = ReLU(sum_{k in g} weights[k] A[k,ij]). Returns the number of groups.
int cam_group_count(int K, int groups);
void cam_group_sums(Context& ctx, Tensor& out, const Tensor& a, const Tensor& weights, int K,
                    int hw, int groups);

// ---- maps ------------------------------------------------------------------------------------
// Bilinear resize of M maps h*w -> H*W (w: width), half-pixel centres (align_corners=False), edge
// clamp.
void cam_upsample_bilinear(Context& ctx, Tensor& out, const Tensor& in, int M, int h, int w, int H,
                           int W);
// Per map min/max: lo[m], hi[m] (maps [M, n]).
void cam_map_min_max(Context& ctx, Tensor& lo, Tensor& hi, const Tensor& maps, int M, int n);
// In place: maps[m] = (maps[m] - lo[m]) / (hi[m] - lo[m]); 0 everywhere when hi == lo.
void cam_normalize_maps(Context& ctx, Tensor& maps, int M, int n);
// Indices of maps that are not constant (hi > lo), in increasing order, written to `index`
// (as floats holding integers); returns their count (one scalar read back on CUDA).
int cam_nonconstant_maps(Context& ctx, Tensor& index, const Tensor& maps, int M, int n);

// ---- masked inputs ---------------------------------------------------------------------------
// All images here are in normalized space. Masking in either mask space is one formula,
//   out = M * x + (1 - M) * substrate,
// with substrate = the baseline x_b (normalized space: 0; pixel space: -mean/std, the
// normalized black image, since (M*I - mean)/std = M*x + (1-M)*(-mean/std)) or the blurred
// image (Group-CAM). out[i] uses mask maps[index[first + i]] (index null: maps[first + i]), i < m.
void cam_masked_inputs(Context& ctx, Tensor& out, const Tensor& maps, const Tensor* index,
                       int first, int m, const Tensor& x, const Tensor& substrate, int H, int W);
// Gaussian blur of a [3,H,W] image: separable kernel of `ksize` taps, sigma, normalized to sum
// 1, reflect padding without repeating the edge (F.pad mode="reflect"; for kernels wider than the
// image the reflection is repeated).
void cam_gaussian_blur(Context& ctx, Tensor& out, const Tensor& in, int H, int W, int ksize,
                       float sigma);

// ---- scores ----------------------------------------------------------------------------------
enum class ScoreKind { Prob, Logit };
// out[offset + i] = softmax(logits[i])[c] (or logits[i][c]) for i < m.
void cam_class_scores(Context& ctx, Tensor& out, int offset, const Tensor& logits, int m,
                      int classes, int c, ScoreKind kind);

// out[i] = scores[offset + i] - scores[0] for i < count, then ReLU if `relu` (Group-CAM's
// score_g = ReLU(p_c(x_g) - p_c(x~)) with the blurred image's score at index 0).
void cam_score_differences(Context& ctx, Tensor& out, const Tensor& scores, int offset, int count,
                           bool relu);
// dst[0..size) = 0, then dst[index[i]] = src[i] for i < count (index holds distinct integer
// floats): per-channel weights from the scores of the channels that were forwarded.
void cam_scatter(Context& ctx, Tensor& dst, const Tensor& src, const Tensor& index, int count,
                 int size);

// ---- insertion / deletion --------------------------------------------------------------------
// Pixel order by decreasing saliency, ties by increasing index: order[r] = pixel of rank r.
void cam_saliency_order(Context& ctx, Tensor& order, const Tensor& map, int n);
// Images `first`..`first+m-1` of a deletion/insertion curve: image i has the pixels of rank
// < i*step taken from `source` and the rest from `start` (deletion: start = x, source = x_b;
// insertion: start = blur(x), source = x; all normalized). out [m,3,H,W].
void cam_curve_images(Context& ctx, Tensor& out, const Tensor& order, const Tensor& start,
                      const Tensor& source, int first, int m, int step, int H, int W);

}  // namespace uc
