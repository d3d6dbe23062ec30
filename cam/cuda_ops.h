// CUDA implementations behind the dispatching functions of cam/ops.h (same signatures, same
// semantics), defined in cam/ops.cu; ops reach them through UC_CUDA_DISPATCH (core/cuda_impl.h),
// so CPU-only builds reference none of them.
#pragma once
#include "cam/ops.h"

namespace uc {
void cam_channel_means_cuda(Context& ctx, Tensor& weights, const Tensor& g, int K, int hw);
void cam_gradcampp_weights_cuda(Context& ctx, Tensor& weights, const Tensor& g, const Tensor& a,
                                int K, int hw);
void cam_denoised_pixel_weights_cuda(Context& ctx, Tensor& p, const Tensor& g, int K, int hw,
                                     float theta);
void cam_channel_weighted_sum_cuda(Context& ctx, Tensor& out, const Tensor& a,
                                   const Tensor& weights, int K, int hw, bool relu);
void cam_pixel_weighted_sum_cuda(Context& ctx, Tensor& out, const Tensor& a, const Tensor& p, int K,
                                 int hw, bool relu);
void cam_group_sums_cuda(Context& ctx, Tensor& out, const Tensor& a, const Tensor& weights, int K,
                         int hw, int groups);
void cam_upsample_bilinear_cuda(Context& ctx, Tensor& out, const Tensor& in, int M, int h, int w,
                                int H, int W);
void cam_map_min_max_cuda(Context& ctx, Tensor& lo, Tensor& hi, const Tensor& maps, int M, int n);
void cam_normalize_maps_cuda(Context& ctx, Tensor& maps, int M, int n);
int cam_nonconstant_maps_cuda(Context& ctx, Tensor& index, const Tensor& maps, int M, int n);
void cam_masked_inputs_cuda(Context& ctx, Tensor& out, const Tensor& maps, const Tensor* index,
                            int first, int m, const Tensor& x, const Tensor& substrate, int H,
                            int W);
void cam_gaussian_blur_cuda(Context& ctx, Tensor& out, const Tensor& in, int H, int W, int ksize,
                            float sigma);
void cam_class_scores_cuda(Context& ctx, Tensor& out, int offset, const Tensor& logits, int m,
                           int classes, int c, ScoreKind kind);
void cam_saliency_order_cuda(Context& ctx, Tensor& order, const Tensor& map, int n);
void cam_curve_images_cuda(Context& ctx, Tensor& out, const Tensor& order, const Tensor& start,
                           const Tensor& source, int first, int m, int step, int H, int W);
void cam_score_differences_cuda(Context& ctx, Tensor& out, const Tensor& scores, int offset,
                                int count, bool relu);
void cam_scatter_cuda(Context& ctx, Tensor& dst, const Tensor& src, const Tensor& index, int count,
                      int size);
}  // namespace uc
