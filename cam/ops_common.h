// The arithmetic of METHODS.md, written once for the CPU (cam/ops.cpp) and CUDA (cam/ops.cu)
// versions of cam/ops.h, so both backends sample, reflect, threshold and weigh alike.
#pragma once
#include <cmath>
#include <vector>

#include "core/host_device.h"

namespace uc::camops {

// Channels per Group-CAM group: ceil(K / groups), as torch.chunk.
UC_HOST_DEVICE inline int group_size(int K, int groups) { return (K + groups - 1) / groups; }

// One axis of a half-pixel-centre bilinear resize (F.interpolate, align_corners=False),
// computed in float as PyTorch does: output `d` blends source i0 (weight 1 - w1) and i1 (w1).
struct BilinearTap {
  int i0, i1;
  float w1;
};
UC_HOST_DEVICE inline BilinearTap bilinear_tap(int d, int in, int out) {
  const float scale = float(in) / float(out);
  // One rounding on both backends, whatever they contract.
  float s = fmaf(scale, float(d) + 0.5f, -0.5f);
  if (s < 0.f) s = 0.f;  // left of the first centre clamps to it
  int i0 = int(s);
  if (i0 > in - 1) i0 = in - 1;
  const int i1 = i0 < in - 1 ? i0 + 1 : i0;
  return {i0, i1, s - float(i0)};
}

// a + t (b - a) with one rounding (fused multiply-add on both backends, so they agree to the
// bit): equal ends give exactly that value, so a constant map stays exactly constant at any
// resize ratio (the (1 - t) a + t b form drifts by an ulp there, and Score-CAM's "max U_k ==
// min U_k" would then forward channels that are constant).
UC_HOST_DEVICE inline float blend(float a, float b, float t) { return fmaf(t, b - a, a); }

// Mirror index i into [0, n-1] without repeating the edge (F.pad mode="reflect"), folding as
// often as needed so kernels wider than the image still land inside.
UC_HOST_DEVICE inline int reflect_index(int i, int n) {
  if (n == 1) return 0;
  const int period = 2 * (n - 1);
  i %= period;
  if (i < 0) i += period;
  return i < n ? i : period - i;
}

// ---- UnionCAM's denoising (METHODS.md) -------------------------------------------------------

// Where the theta-th percentile (0..100) of n ascending values lies, NumPy's default linear
// interpolation: between the order statistics at floor(pos) and floor(pos) + 1.
UC_HOST_DEVICE inline double percentile_position(float theta, int n) {
  return double(theta) / 100.0 * double(n - 1);
}
// The percentile from the order statistic at floor(pos) and the next one (the same one at the end).
UC_HOST_DEVICE inline double percentile_between(double v_lo, double v_hi, double pos) {
  return v_lo + (pos - floor(pos)) * (v_hi - v_lo);
}
UC_HOST_DEVICE inline double percentile_sorted(const float* v, int n, float theta) {
  const double pos = percentile_position(theta, n);
  const int lo = int(floor(pos));
  return percentile_between(v[lo], v[lo < n - 1 ? lo + 1 : lo], pos);
}
// ReLU(Ĝ): a gradient survives when it reaches its channel's threshold t and is positive.
UC_HOST_DEVICE inline bool survives_denoising(float g, double t) { return g >= t && g > 0.f; }

// ---- Grad-CAM++ (METHODS.md) -----------------------------------------------------------------

// One position's share of w_k, alpha * ReLU(G) with alpha = G^2 / (2 G^2 + sum(A) G^3 + 1e-6):
// zero where G <= 0 (ReLU(G) = 0 there, and alpha = 0 where G = 0). T is the backend's
// accumulator: double on the CPU, float on CUDA.
template <typename T>
UC_HOST_DEVICE inline T gradcampp_term(T g, T sum_a) {
  if (g <= T(0)) return T(0);
  const T g2 = g * g;
  return g * g2 / (T(2) * g2 + sum_a * g2 * g + T(1e-6));
}

// ---- maps and masked inputs ------------------------------------------------------------------

// Min-max normalization of one value of a map; a constant map (range 0) becomes all zeros.
UC_HOST_DEVICE inline float normalized(float v, float lo, float range) {
  return range > 0.f ? (v - lo) / range : 0.f;
}
// A masked input value: the image where the mask is 1, the substrate (black or blurred) where 0.
UC_HOST_DEVICE inline float masked_value(float mask, float x, float substrate) {
  return mask * x + (1.f - mask) * substrate;
}

// ---- Group-CAM's blur ------------------------------------------------------------------------

// Unnormalized tap i of a Gaussian of radius r = ksize / 2: exp(-(i - r)^2 / two_var), with
// two_var = 2 sigma^2 (gaussian_two_var), in double on both backends.
UC_HOST_DEVICE inline double gaussian_two_var(float sigma) { return 2.0 * double(sigma) * sigma; }
UC_HOST_DEVICE inline double gaussian_weight(int i, int r, double two_var) {
  const double d = i - r;
  return exp(-d * d / two_var);
}
// The normalized taps (host side; cam/ops.cu computes the same on the device).
inline std::vector<float> gaussian_kernel(int ksize, float sigma) {
  const int r = ksize / 2;
  const double two_var = gaussian_two_var(sigma);
  std::vector<double> k(ksize);
  double sum = 0;
  for (int i = 0; i < ksize; ++i) sum += k[i] = gaussian_weight(i, r, two_var);
  std::vector<float> out(ksize);
  for (int i = 0; i < ksize; ++i) out[i] = float(k[i] / sum);
  return out;
}

}  // namespace uc::camops
