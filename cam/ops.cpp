// CPU reference of the CAM operations (cam/ops.h). Each function checks its arguments, hands
// over to the CUDA version on a CUDA context, and otherwise runs the loops here. Sums run in
// double: this is the reference the CUDA kernels are compared against.
#include "cam/ops.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <vector>

#include "cam/cuda_ops.h"
#include "cam/ops_common.h"
#include "core/cuda_impl.h"
#include "core/error.h"
#include "layers/layer_checks.h"
#include "layers/layers.h"

namespace uc {
namespace {

using detail::expect_tensor;

// For tensors whose size the arguments only bound from below.
void expect_at_least(const Context& ctx, const Tensor& t, int64_t numel, const char* op,
                     const char* role) {
  UC_ASSERT(t.defined(), std::string(op) + ": " + role + " is not allocated");
  UC_ASSERT(t.numel() >= numel, std::string(op) + ": " + role + " has shape " +
                                    shape_str(t.shape()) + " but needs at least " +
                                    std::to_string(numel) + " elements");
  UC_ASSERT(t.backend() == ctx.backend(), std::string(op) + ": " + role + " is on " +
                                              backend_name(t.backend()) + " but the context is " +
                                              backend_name(ctx.backend()));
}

void expect_positive(bool ok, const char* op, const std::string& what) {
  UC_ASSERT(ok, std::string(op) + ": " + what);
}

float relu_if(double v, bool relu) { return float(relu && v < 0 ? 0.0 : v); }

// out[ij] = sum_k coef(k, ij) * A[k,ij], k-outer so both arrays stream contiguously.
template <typename Coef>
void weighted_channel_sum(float* out, const float* a, int K, int hw, bool relu, Coef coef) {
  std::vector<double> acc(hw, 0.0);
  for (int k = 0; k < K; ++k) {
    const float* ak = a + int64_t(k) * hw;
    for (int ij = 0; ij < hw; ++ij) acc[ij] += double(coef(k, ij)) * ak[ij];
  }
  for (int ij = 0; ij < hw; ++ij) out[ij] = relu_if(acc[ij], relu);
}

}  // namespace

// ---- channel weights from gradients ----------------------------------------------------------

void cam_channel_means(Context& ctx, Tensor& weights, const Tensor& g, int K, int hw) {
  expect_positive(K > 0 && hw > 0, "cam_channel_means", "K and hw must be positive");
  expect_tensor(ctx, weights, {K}, "cam_channel_means", "weights");
  expect_tensor(ctx, g, {K, hw}, "cam_channel_means", "g");
  UC_CUDA_DISPATCH(ctx, cam_channel_means_cuda(ctx, weights, g, K, hw));
  for (int k = 0; k < K; ++k) {
    const float* gk = g.data() + int64_t(k) * hw;
    weights.data()[k] = float(std::accumulate(gk, gk + hw, 0.0) / hw);
  }
}

void cam_gradcampp_weights(Context& ctx, Tensor& weights, const Tensor& g, const Tensor& a, int K,
                           int hw) {
  expect_positive(K > 0 && hw > 0, "cam_gradcampp_weights", "K and hw must be positive");
  expect_tensor(ctx, weights, {K}, "cam_gradcampp_weights", "weights");
  expect_tensor(ctx, g, {K, hw}, "cam_gradcampp_weights", "g");
  expect_tensor(ctx, a, {K, hw}, "cam_gradcampp_weights", "a");
  UC_CUDA_DISPATCH(ctx, cam_gradcampp_weights_cuda(ctx, weights, g, a, K, hw));
  for (int k = 0; k < K; ++k) {
    const float* gk = g.data() + int64_t(k) * hw;
    const float* ak = a.data() + int64_t(k) * hw;
    const double sum_a = std::accumulate(ak, ak + hw, 0.0);
    double wk = 0;
    for (int ij = 0; ij < hw; ++ij) wk += camops::gradcampp_term<double>(gk[ij], sum_a);
    weights.data()[k] = float(wk);
  }
}

void cam_denoised_pixel_weights(Context& ctx, Tensor& p, const Tensor& g, int K, int hw,
                                float theta) {
  const char* op = "cam_denoised_pixel_weights";
  expect_positive(K > 0 && hw > 0, op, "K and hw must be positive");
  expect_positive(theta >= 0.f && theta <= 100.f, op,
                  "theta must be in [0, 100], got " + std::to_string(theta));
  expect_tensor(ctx, p, {K, hw}, op, "p");
  expect_tensor(ctx, g, {K, hw}, op, "g");
  UC_CUDA_DISPATCH(ctx, cam_denoised_pixel_weights_cuda(ctx, p, g, K, hw, theta));
  std::vector<float> scratch(hw);
  for (int k = 0; k < K; ++k) {
    const float* gk = g.data() + int64_t(k) * hw;
    float* pk = p.data() + int64_t(k) * hw;
    const Denoising d = denoising_of_channel(gk, hw, theta, scratch.data());
    for (int ij = 0; ij < hw; ++ij)
      pk[ij] = camops::survives_denoising(gk[ij], d.threshold) ? float(d.alpha * gk[ij]) : 0.f;
  }
}

Denoising denoising_of_channel(const float* g, int hw, float theta, float* scratch) {
  std::copy(g, g + hw, scratch);
  std::sort(scratch, scratch + hw);
  Denoising d;
  d.threshold = camops::percentile_sorted(scratch, hw, theta);
  double sum = 0;  // sum of ReLU(Ghat)
  for (int ij = 0; ij < hw; ++ij)
    if (camops::survives_denoising(g[ij], d.threshold)) sum += g[ij];
  d.alpha = sum > 0 ? 1.0 / sum : 0.0;
  return d;
}

// ---- weighted sums over channels -------------------------------------------------------------

void cam_channel_weighted_sum(Context& ctx, Tensor& out, const Tensor& a, const Tensor& weights,
                              int K, int hw, bool relu) {
  const char* op = "cam_channel_weighted_sum";
  expect_positive(K > 0 && hw > 0, op, "K and hw must be positive");
  expect_tensor(ctx, out, {hw}, op, "out");
  expect_tensor(ctx, a, {K, hw}, op, "a");
  expect_tensor(ctx, weights, {K}, op, "weights");
  UC_CUDA_DISPATCH(ctx, cam_channel_weighted_sum_cuda(ctx, out, a, weights, K, hw, relu));
  const float* wk = weights.data();
  weighted_channel_sum(out.data(), a.data(), K, hw, relu, [wk](int k, int) { return wk[k]; });
}

void cam_pixel_weighted_sum(Context& ctx, Tensor& out, const Tensor& a, const Tensor& p, int K,
                            int hw, bool relu) {
  const char* op = "cam_pixel_weighted_sum";
  expect_positive(K > 0 && hw > 0, op, "K and hw must be positive");
  expect_tensor(ctx, out, {hw}, op, "out");
  expect_tensor(ctx, a, {K, hw}, op, "a");
  expect_tensor(ctx, p, {K, hw}, op, "p");
  UC_CUDA_DISPATCH(ctx, cam_pixel_weighted_sum_cuda(ctx, out, a, p, K, hw, relu));
  const float* pv = p.data();
  weighted_channel_sum(out.data(), a.data(), K, hw, relu,
                       [pv, hw](int k, int ij) { return pv[int64_t(k) * hw + ij]; });
}

int cam_group_count(int K, int groups) {
  UC_ASSERT(K > 0 && groups > 0, "cam_group_count: K=" + std::to_string(K) +
                                     " and groups=" + std::to_string(groups) + " must be positive");
  const int size = camops::group_size(K, groups);
  return (K + size - 1) / size;
}

void cam_group_sums(Context& ctx, Tensor& out, const Tensor& a, const Tensor& weights, int K,
                    int hw, int groups) {
  const char* op = "cam_group_sums";
  expect_positive(hw > 0, op, "hw must be positive");
  const int count = cam_group_count(K, groups);
  expect_tensor(ctx, out, {count, hw}, op, "out");
  expect_tensor(ctx, a, {K, hw}, op, "a");
  expect_tensor(ctx, weights, {K}, op, "weights");
  UC_CUDA_DISPATCH(ctx, cam_group_sums_cuda(ctx, out, a, weights, K, hw, groups));
  const int size = camops::group_size(K, groups);
  const float* wk = weights.data();
  for (int gi = 0; gi < count; ++gi) {
    const int k0 = gi * size, n = std::min(size, K - k0);
    weighted_channel_sum(out.data() + int64_t(gi) * hw, a.data() + int64_t(k0) * hw, n, hw, true,
                         [wk, k0](int k, int) { return wk[k0 + k]; });
  }
}

// ---- maps ------------------------------------------------------------------------------------

void cam_upsample_bilinear(Context& ctx, Tensor& out, const Tensor& in, int M, int h, int w, int H,
                           int W) {
  const char* op = "cam_upsample_bilinear";
  expect_positive(M > 0 && h > 0 && w > 0 && H > 0 && W > 0, op, "all sizes must be positive");
  expect_tensor(ctx, out, {M, H, W}, op, "out");
  expect_tensor(ctx, in, {M, h, w}, op, "in");
  UC_CUDA_DISPATCH(ctx, cam_upsample_bilinear_cuda(ctx, out, in, M, h, w, H, W));
  std::vector<camops::BilinearTap> ty(H), tx(W);
  for (int y = 0; y < H; ++y) ty[y] = camops::bilinear_tap(y, h, H);
  for (int x = 0; x < W; ++x) tx[x] = camops::bilinear_tap(x, w, W);
  for (int m = 0; m < M; ++m) {
    const float* src = in.data() + int64_t(m) * h * w;
    float* dst = out.data() + int64_t(m) * H * W;
    for (int y = 0; y < H; ++y) {
      const float* r0 = src + int64_t(ty[y].i0) * w;
      const float* r1 = src + int64_t(ty[y].i1) * w;
      const float wy = ty[y].w1;
      for (int x = 0; x < W; ++x) {
        const camops::BilinearTap t = tx[x];
        const float top = camops::blend(r0[t.i0], r0[t.i1], t.w1);
        const float bottom = camops::blend(r1[t.i0], r1[t.i1], t.w1);
        dst[int64_t(y) * W + x] = camops::blend(top, bottom, wy);
      }
    }
  }
}

void cam_map_min_max(Context& ctx, Tensor& lo, Tensor& hi, const Tensor& maps, int M, int n) {
  const char* op = "cam_map_min_max";
  expect_positive(M > 0 && n > 0, op, "M and n must be positive");
  expect_tensor(ctx, lo, {M}, op, "lo");
  expect_tensor(ctx, hi, {M}, op, "hi");
  expect_tensor(ctx, maps, {M, n}, op, "maps");
  UC_CUDA_DISPATCH(ctx, cam_map_min_max_cuda(ctx, lo, hi, maps, M, n));
  for (int m = 0; m < M; ++m) {
    const float* v = maps.data() + int64_t(m) * n;
    const auto [mn, mx] = std::minmax_element(v, v + n);
    lo.data()[m] = *mn;
    hi.data()[m] = *mx;
  }
}

void cam_normalize_maps(Context& ctx, Tensor& maps, int M, int n) {
  const char* op = "cam_normalize_maps";
  expect_positive(M > 0 && n > 0, op, "M and n must be positive");
  expect_tensor(ctx, maps, {M, n}, op, "maps");
  UC_CUDA_DISPATCH(ctx, cam_normalize_maps_cuda(ctx, maps, M, n));
  for (int m = 0; m < M; ++m) {
    float* v = maps.data() + int64_t(m) * n;
    const auto [mn, mx] = std::minmax_element(v, v + n);
    const float lo = *mn, range = *mx - *mn;
    for (int i = 0; i < n; ++i) v[i] = camops::normalized(v[i], lo, range);
  }
}

int cam_nonconstant_maps(Context& ctx, Tensor& index, const Tensor& maps, int M, int n) {
  const char* op = "cam_nonconstant_maps";
  expect_positive(M > 0 && n > 0, op, "M and n must be positive");
  expect_tensor(ctx, index, {M}, op, "index");
  expect_tensor(ctx, maps, {M, n}, op, "maps");
  UC_CUDA_DISPATCH(ctx, cam_nonconstant_maps_cuda(ctx, index, maps, M, n));
  int count = 0;
  for (int m = 0; m < M; ++m) {
    const float* v = maps.data() + int64_t(m) * n;
    const auto [mn, mx] = std::minmax_element(v, v + n);
    if (*mx > *mn) index.data()[count++] = float(m);
  }
  return count;
}

// ---- masked inputs ---------------------------------------------------------------------------

void cam_masked_inputs(Context& ctx, Tensor& out, const Tensor& maps, const Tensor* index,
                       int first, int m, const Tensor& x, const Tensor& substrate, int H, int W) {
  const char* op = "cam_masked_inputs";
  expect_positive(m > 0 && first >= 0 && H > 0 && W > 0, op,
                  "m, H and W must be positive and first non-negative");
  const int64_t n = int64_t(H) * W;
  expect_tensor(ctx, out, {m, 3, H, W}, op, "out");
  expect_tensor(ctx, x, {3, H, W}, op, "x");
  expect_tensor(ctx, substrate, {3, H, W}, op, "substrate");
  // The map count is not an argument: maps only has to hold whole maps, enough of them.
  expect_at_least(ctx, maps, index ? n : (first + m) * n, op, "maps");
  UC_ASSERT(maps.numel() % n == 0, std::string(op) + ": maps has shape " + shape_str(maps.shape()) +
                                       ", not a whole number of " + std::to_string(H) + "x" +
                                       std::to_string(W) + " maps");
  if (index) expect_at_least(ctx, *index, first + m, op, "index");
  UC_CUDA_DISPATCH(ctx,
                   cam_masked_inputs_cuda(ctx, out, maps, index, first, m, x, substrate, H, W));
  const int64_t map_count = maps.numel() / n;
  std::vector<int64_t> pick(m);
  for (int i = 0; i < m; ++i) {
    pick[i] = index ? int64_t(index->data()[first + i]) : first + i;
    UC_ASSERT(pick[i] >= 0 && pick[i] < map_count, std::string(op) + ": map index " +
                                                       std::to_string(pick[i]) + " outside the " +
                                                       std::to_string(map_count) + " maps");
  }
  const float* xv = x.data();
  const float* sv = substrate.data();
  float* ov = out.data();
  const float* mv = maps.data();
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(m) * 3 * n > (1 << 16))
  for (int i = 0; i < m; ++i)
    for (int c = 0; c < 3; ++c) {
      const float* mask = mv + pick[i] * n;
      const float* xc = xv + c * n;
      const float* sc = sv + c * n;
      float* oc = ov + (int64_t(i) * 3 + c) * n;
      for (int64_t p = 0; p < n; ++p) oc[p] = camops::masked_value(mask[p], xc[p], sc[p]);
    }
}

void cam_gaussian_blur(Context& ctx, Tensor& out, const Tensor& in, int H, int W, int ksize,
                       float sigma) {
  const char* op = "cam_gaussian_blur";
  expect_positive(H > 0 && W > 0, op, "H and W must be positive");
  expect_positive(ksize > 0 && ksize % 2 == 1 && sigma > 0.f, op,
                  "ksize must be odd and positive and sigma positive, got ksize " +
                      std::to_string(ksize) + ", sigma " + std::to_string(sigma));
  expect_tensor(ctx, out, {3, H, W}, op, "out");
  expect_tensor(ctx, in, {3, H, W}, op, "in");
  UC_CUDA_DISPATCH(ctx, cam_gaussian_blur_cuda(ctx, out, in, H, W, ksize, sigma));
  const std::vector<float> k = camops::gaussian_kernel(ksize, sigma);
  const int r = ksize / 2;
  // Reflected source index per output position and tap, for each axis.
  std::vector<int> rx(size_t(W) * ksize), ry(size_t(H) * ksize);
  for (int x = 0; x < W; ++x)
    for (int t = 0; t < ksize; ++t) rx[size_t(x) * ksize + t] = camops::reflect_index(x + t - r, W);
  for (int y = 0; y < H; ++y)
    for (int t = 0; t < ksize; ++t) ry[size_t(y) * ksize + t] = camops::reflect_index(y + t - r, H);

  // Rows into a temporary first, so `out` may alias `in`.
  std::vector<float> tmp(size_t(3) * H * W);
  const float* src = in.data();
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(3) * H * W * ksize > (1 << 18))
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < H; ++y) {
      const float* row = src + (int64_t(c) * H + y) * W;
      float* trow = tmp.data() + (int64_t(c) * H + y) * W;
      for (int x = 0; x < W; ++x) {
        const int* idx = rx.data() + size_t(x) * ksize;
        double acc = 0;
        for (int t = 0; t < ksize; ++t) acc += double(k[t]) * row[idx[t]];
        trow[x] = float(acc);
      }
    }
  float* dst = out.data();
#pragma omp parallel for collapse(2) schedule(static) if (int64_t(3) * H * W * ksize > (1 << 18))
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < H; ++y) {
      const int* idx = ry.data() + size_t(y) * ksize;
      const float* plane = tmp.data() + int64_t(c) * H * W;
      float* orow = dst + (int64_t(c) * H + y) * W;
      for (int x = 0; x < W; ++x) {
        double acc = 0;
        for (int t = 0; t < ksize; ++t) acc += double(k[t]) * plane[int64_t(idx[t]) * W + x];
        orow[x] = float(acc);
      }
    }
}

// ---- scores ----------------------------------------------------------------------------------

void cam_class_scores(Context& ctx, Tensor& out, int offset, const Tensor& logits, int m,
                      int classes, int c, ScoreKind kind) {
  const char* op = "cam_class_scores";
  expect_positive(m > 0 && offset >= 0 && classes > 0 && c >= 0 && c < classes, op,
                  "need m > 0, offset >= 0 and 0 <= c < classes, got m " + std::to_string(m) +
                      ", offset " + std::to_string(offset) + ", c " + std::to_string(c) +
                      ", classes " + std::to_string(classes));
  expect_at_least(ctx, out, int64_t(offset) + m, op, "out");
  expect_tensor(ctx, logits, {m, classes}, op, "logits");
  UC_CUDA_DISPATCH(ctx, cam_class_scores_cuda(ctx, out, offset, logits, m, classes, c, kind));
  for (int i = 0; i < m; ++i) {
    const float* z = logits.data() + int64_t(i) * classes;
    out.data()[offset + i] = float(kind == ScoreKind::Prob ? softmax(z, classes)[c] : z[c]);
  }
}

void cam_score_differences(Context& ctx, Tensor& out, const Tensor& scores, int offset, int count,
                           bool relu) {
  const char* op = "cam_score_differences";
  expect_positive(count > 0 && offset >= 0, op, "need count > 0 and offset >= 0");
  expect_at_least(ctx, out, count, op, "out");
  expect_at_least(ctx, scores, int64_t(offset) + count, op, "scores");
  UC_CUDA_DISPATCH(ctx, cam_score_differences_cuda(ctx, out, scores, offset, count, relu));
  const float* s = scores.data();
  for (int i = 0; i < count; ++i) {
    const float d = s[offset + i] - s[0];
    out.data()[i] = relu ? std::max(d, 0.f) : d;
  }
}

void cam_scatter(Context& ctx, Tensor& dst, const Tensor& src, const Tensor& index, int count,
                 int size) {
  const char* op = "cam_scatter";
  expect_positive(count >= 0 && size > 0 && count <= size, op, "need 0 <= count <= size");
  expect_at_least(ctx, dst, size, op, "dst");
  expect_at_least(ctx, src, count, op, "src");
  expect_at_least(ctx, index, count, op, "index");
  UC_CUDA_DISPATCH(ctx, cam_scatter_cuda(ctx, dst, src, index, count, size));
  std::fill(dst.data(), dst.data() + size, 0.f);
  for (int i = 0; i < count; ++i) {
    const int k = int(index.data()[i]);
    UC_ASSERT(k >= 0 && k < size,
              std::string(op) + ": index " + std::to_string(k) + " outside [0, size)");
    dst.data()[k] = src.data()[i];
  }
}

// ---- insertion / deletion --------------------------------------------------------------------

void cam_saliency_order(Context& ctx, Tensor& order, const Tensor& map, int n) {
  const char* op = "cam_saliency_order";
  expect_positive(n > 0, op, "n must be positive");
  expect_tensor(ctx, order, {n}, op, "order");
  expect_tensor(ctx, map, {n}, op, "map");
  UC_CUDA_DISPATCH(ctx, cam_saliency_order_cuda(ctx, order, map, n));
  std::vector<int> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  const float* v = map.data();
  std::stable_sort(idx.begin(), idx.end(), [v](int a, int b) { return v[a] > v[b]; });
  for (int r = 0; r < n; ++r) order.data()[r] = float(idx[r]);
}

void cam_curve_images(Context& ctx, Tensor& out, const Tensor& order, const Tensor& start,
                      const Tensor& source, int first, int m, int step, int H, int W) {
  const char* op = "cam_curve_images";
  expect_positive(m > 0 && first >= 0 && step > 0 && H > 0 && W > 0, op,
                  "m, step, H and W must be positive and first non-negative");
  const int64_t n = int64_t(H) * W;
  expect_tensor(ctx, out, {m, 3, H, W}, op, "out");
  expect_tensor(ctx, order, {n}, op, "order");
  expect_tensor(ctx, start, {3, H, W}, op, "start");
  expect_tensor(ctx, source, {3, H, W}, op, "source");
  UC_CUDA_DISPATCH(ctx,
                   cam_curve_images_cuda(ctx, out, order, start, source, first, m, step, H, W));
  const float* ov = order.data();
  const float* st = start.data();
  const float* so = source.data();
#pragma omp parallel for schedule(static) if (int64_t(m) * 3 * n > (1 << 16))
  for (int i = 0; i < m; ++i) {
    float* img = out.data() + int64_t(i) * 3 * n;
    std::copy(st, st + 3 * n, img);
    const int64_t taken = std::min<int64_t>(int64_t(first + i) * step, n);
    for (int64_t r = 0; r < taken; ++r) {
      const int64_t p = int64_t(ov[r]);
      for (int c = 0; c < 3; ++c) img[c * n + p] = so[c * n + p];
    }
  }
}

}  // namespace uc
