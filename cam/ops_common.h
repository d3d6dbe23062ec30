// Index and weight rules shared by the CPU (cam/ops.cpp) and CUDA (cam/ops.cu) versions of
// cam/ops.h, so both backends sample, reflect and threshold identically. Internal to cam/.
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
  float s = fmaf(scale, float(d) + 0.5f, -0.5f);  // one rounding on both backends, whatever they contract
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

// theta-th percentile (0..100) of n ascending values, NumPy's default linear interpolation.
UC_HOST_DEVICE inline double percentile_sorted(const float* v, int n, float theta) {
  const double pos = double(theta) / 100.0 * double(n - 1);
  const int lo = int(floor(pos));
  const int hi = lo < n - 1 ? lo + 1 : lo;
  return double(v[lo]) + (pos - lo) * (double(v[hi]) - double(v[lo]));
}

// Normalized 1-D Gaussian taps exp(-(i - r)^2 / (2 sigma^2)), r = ksize / 2 (host side).
inline std::vector<float> gaussian_kernel(int ksize, float sigma) {
  const int r = ksize / 2;
  std::vector<double> k(ksize);
  double sum = 0;
  for (int i = 0; i < ksize; ++i) {
    const double d = i - r;
    k[i] = std::exp(-d * d / (2.0 * double(sigma) * sigma));
    sum += k[i];
  }
  std::vector<float> out(ksize);
  for (int i = 0; i < ksize; ++i) out[i] = float(k[i] / sum);
  return out;
}

}  // namespace uc::camops
