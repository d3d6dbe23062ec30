// CPU CAM operations (cam/ops.h) against naive double-precision loops written here, NumPy
// percentiles and a PyTorch blur pasted as literals, and the edge cases the methods rely on.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "cam/ops.h"
#include "tests/check.h"

namespace {

using uc::Backend;
using uc::Tensor;
using uc::test::random_vector;
using Vec = std::vector<double>;

constexpr double kAtol = 1e-5, kRtol = 1e-5;  // float results against double references

Tensor cpu(const uc::Shape& shape, const std::vector<float>& values) {
  return Tensor::from_host(Backend::CPU, shape, values);
}
Tensor cpu_zeros(const uc::Shape& shape) { return Tensor::zeros(Backend::CPU, shape); }

// Small random sizes: K channels of h x w, upsampled to H x W.
struct Sizes {
  int K, h, w, H, W;
};
Sizes random_sizes(std::mt19937& gen) {
  auto pick = [&gen](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen); };
  return {pick(5, 8), pick(3, 7), pick(3, 7), pick(8, 17), pick(8, 17)};
}

// Repeated mirroring without repeating the edge, written as the reflections themselves.
int naive_reflect(int i, int n) {
  if (n == 1) return 0;
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
  return i;
}

// 2-D convolution of each channel with the outer product of the normalized Gaussian.
Vec naive_blur(const std::vector<float>& img, int H, int W, int ksize, double sigma) {
  const int r = ksize / 2;
  Vec k(ksize);
  for (int i = 0; i < ksize; ++i) k[i] = std::exp(-(i - r) * (i - r) / (2 * sigma * sigma));
  const double sum = std::accumulate(k.begin(), k.end(), 0.0);
  for (double& v : k) v /= sum;
  Vec out(img.size(), 0.0);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        double acc = 0;
        for (int dy = 0; dy < ksize; ++dy)
          for (int dx = 0; dx < ksize; ++dx)
            acc += k[dy] * k[dx] *
                   img[(size_t(c) * H + naive_reflect(y + dy - r, H)) * W +
                       naive_reflect(x + dx - r, W)];
        out[(size_t(c) * H + y) * W + x] = acc;
      }
  return out;
}

// NumPy-style linear percentile, straight from the definition.
double naive_percentile(std::vector<float> v, double theta) {
  std::sort(v.begin(), v.end());
  const double pos = theta / 100 * (v.size() - 1);
  const size_t lo = size_t(std::floor(pos)), hi = size_t(std::ceil(pos));
  return v[lo] + (pos - lo) * (double(v[hi]) - v[lo]);
}

// p for one channel given its threshold t.
Vec naive_denoised(const std::vector<float>& g, double t) {
  Vec p(g.size(), 0.0);
  double sum = 0;
  for (size_t i = 0; i < g.size(); ++i)
    if (g[i] >= t) p[i] = std::max(0.0, double(g[i])), sum += p[i];
  for (double& v : p) v = sum > 0 ? v / sum : 0.0;
  return p;
}

Vec naive_weighted(const std::vector<float>& a, const Vec& coef_per_k, int K, int hw, bool relu) {
  Vec out(hw, 0.0);
  for (int k = 0; k < K; ++k)
    for (int i = 0; i < hw; ++i) out[i] += coef_per_k[k] * a[size_t(k) * hw + i];
  if (relu)
    for (double& v : out) v = std::max(v, 0.0);
  return out;
}

std::vector<float> test_image(int H, int W) {
  std::vector<float> img(size_t(3) * H * W);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x)
        img[(size_t(c) * H + y) * W + x] = float(std::sin(0.37 * y + 0.71 * x + c) + 0.1 * x);
  return img;
}

}  // namespace

TEST_CASE("cam_ops/channel_means") {
  uc::Context ctx(Backend::CPU);
  std::mt19937 gen(1);
  for (int trial = 0; trial < 3; ++trial) {
    const Sizes s = random_sizes(gen);
    const int hw = s.h * s.w;
    const auto g = random_vector(size_t(s.K) * hw, 10 + trial);
    Tensor gt = cpu({s.K, s.h, s.w}, g), w = cpu_zeros({s.K});
    uc::cam_channel_means(ctx, w, gt, s.K, hw);
    Vec ref(s.K, 0.0);
    for (int k = 0; k < s.K; ++k) {
      for (int i = 0; i < hw; ++i) ref[k] += g[size_t(k) * hw + i];
      ref[k] /= hw;
    }
    CHECK_CLOSE("channel means", w.to_host(), ref, kAtol, kRtol);
  }
}

TEST_CASE("cam_ops/gradcampp_weights") {
  uc::Context ctx(Backend::CPU);
  const int K = 6, hw = 5 * 4;
  auto g = random_vector(size_t(K) * hw, 21);
  const auto a = random_vector(size_t(K) * hw, 22, 0.f, 2.f);
  for (int i = 0; i < hw; ++i)  // channel 2 all <= 0: weight 0
    g[size_t(2) * hw + i] = -std::fabs(g[size_t(2) * hw + i]);
  g[size_t(2) * hw + 3] = 0.f;
  g[5] = 0.f;  // alpha = 0 where G == 0
  Tensor w = cpu_zeros({K});
  uc::cam_gradcampp_weights(ctx, w, cpu({K, hw}, g), cpu({K, hw}, a), K, hw);
  Vec ref(K, 0.0);
  for (int k = 0; k < K; ++k) {
    double sum_a = 0;
    for (int i = 0; i < hw; ++i) sum_a += a[size_t(k) * hw + i];
    for (int i = 0; i < hw; ++i) {
      const double gv = g[size_t(k) * hw + i];
      const double alpha = gv == 0 ? 0 : gv * gv / (2 * gv * gv + sum_a * gv * gv * gv + 1e-6);
      ref[k] += std::max(gv, 0.0) * alpha;
    }
  }
  const auto got = w.to_host();
  CHECK_CLOSE("grad-cam++ weights", got, ref, kAtol, kRtol);
  CHECK(got[2] == 0.f);
}

TEST_CASE("cam_ops/denoised_pixel_weights: NumPy percentiles") {
  uc::Context ctx(Backend::CPU);
  const std::vector<float> v = {0.3f, 1.2f, 2.5f, 0.1f, 0.4f, 1.1f, 0.7f, 2.0f, 0.9f, 0.05f};
  // np.percentile(v, theta) for float32 v, NumPy's default linear method.
  const struct {
    float theta;
    double t;
  } cases[] = {{0.f, 0.05000000074505806},
               {100.f, 2.5},
               {10.f, 0.09500000141561031},
               {37.5f, 0.5124999992549419}};
  for (const auto& c : cases) {
    CAPTURE(c.theta);
    Tensor p = cpu_zeros({1, 10});
    uc::cam_denoised_pixel_weights(ctx, p, cpu({1, 10}, v), 1, 10, c.theta);
    CHECK_CLOSE("denoised weights", p.to_host(), naive_denoised(v, c.t), kAtol, kRtol);
  }
  Tensor p = cpu_zeros({1, 10});
  uc::cam_denoised_pixel_weights(ctx, p, cpu({1, 10}, v), 1, 10, 100.f);
  CHECK(p.to_host()[2] == 1.f);  // only the maximum survives
}

TEST_CASE("cam_ops/denoised_pixel_weights: random and degenerate channels") {
  uc::Context ctx(Backend::CPU);
  std::mt19937 gen(3);
  for (int trial = 0; trial < 3; ++trial) {
    const Sizes s = random_sizes(gen);
    const int hw = s.h * s.w;
    auto g = random_vector(size_t(s.K) * hw, 30 + trial);
    std::fill(g.begin(), g.begin() + hw, 0.25f);  // all equal: kept, 1/hw
    for (int i = 0; i < hw; ++i) g[size_t(hw) + i] = -std::fabs(g[size_t(hw) + i]);  // all <= 0
    const float theta = trial == 0 ? 10.f : trial == 1 ? 0.f : 63.f;
    Tensor p = cpu_zeros({s.K, hw});
    uc::cam_denoised_pixel_weights(ctx, p, cpu({s.K, hw}, g), s.K, hw, theta);
    Vec ref;
    for (int k = 0; k < s.K; ++k) {
      const std::vector<float> gk(g.begin() + size_t(k) * hw, g.begin() + size_t(k + 1) * hw);
      const Vec pk = naive_denoised(gk, naive_percentile(gk, theta));
      ref.insert(ref.end(), pk.begin(), pk.end());
    }
    const auto got = p.to_host();
    CHECK_CLOSE("denoised weights", got, ref, kAtol, kRtol);
    CHECK_CLOSE("all-equal channel", std::vector<float>(got.begin(), got.begin() + hw),
                Vec(hw, 1.0 / hw), kAtol, kRtol);
    CHECK(std::all_of(got.begin() + hw, got.begin() + 2 * hw, [](float x) { return x == 0.f; }));
  }
}

TEST_CASE("cam_ops/channel and pixel weighted sums") {
  uc::Context ctx(Backend::CPU);
  std::mt19937 gen(4);
  for (int trial = 0; trial < 3; ++trial) {
    const Sizes s = random_sizes(gen);
    const int hw = s.h * s.w;
    const bool relu = trial != 1;
    const auto a = random_vector(size_t(s.K) * hw, 40 + trial, 0.f, 1.f);
    const auto w = random_vector(s.K, 50 + trial);
    const auto p = random_vector(size_t(s.K) * hw, 60 + trial);
    Tensor out = cpu_zeros({hw});
    uc::cam_channel_weighted_sum(ctx, out, cpu({s.K, hw}, a), cpu({s.K}, w), s.K, hw, relu);
    CHECK_CLOSE("channel weighted sum", out.to_host(),
                naive_weighted(a, Vec(w.begin(), w.end()), s.K, hw, relu), kAtol, kRtol);

    uc::cam_pixel_weighted_sum(ctx, out, cpu({s.K, hw}, a), cpu({s.K, hw}, p), s.K, hw, relu);
    Vec ref(hw, 0.0);
    for (int k = 0; k < s.K; ++k)
      for (int i = 0; i < hw; ++i) ref[i] += double(p[size_t(k) * hw + i]) * a[size_t(k) * hw + i];
    if (relu)
      for (double& v : ref) v = std::max(v, 0.0);
    CHECK_CLOSE("pixel weighted sum", out.to_host(), ref, kAtol, kRtol);
  }
}

TEST_CASE("cam_ops/group counts follow torch.chunk") {
  CHECK(uc::cam_group_count(512, 32) == 32);
  CHECK(uc::cam_group_count(10, 4) == 4);  // chunks of 3: 3, 3, 3, 1
  CHECK(uc::cam_group_count(5, 4) == 3);   // chunks of 2: 2, 2, 1
  CHECK(uc::cam_group_count(10, 6) == 5);  // chunks of 2: fewer groups than asked
  CHECK(uc::cam_group_count(3, 8) == 3);
  CHECK(uc::cam_group_count(7, 1) == 1);
}

TEST_CASE("cam_ops/group_sums") {
  uc::Context ctx(Backend::CPU);
  const struct {
    int K, groups;
    std::vector<int> sizes;
  } cases[] = {{10, 4, {3, 3, 3, 1}}, {5, 4, {2, 2, 1}}, {8, 8, {1, 1, 1, 1, 1, 1, 1, 1}}};
  for (const auto& c : cases) {
    CAPTURE(c.K);
    const int hw = 4 * 5, count = int(c.sizes.size());
    const auto a = random_vector(size_t(c.K) * hw, 70 + c.K, 0.f, 1.f);
    const auto w = random_vector(c.K, 80 + c.K);
    Tensor out = cpu_zeros({count, hw});
    uc::cam_group_sums(ctx, out, cpu({c.K, hw}, a), cpu({c.K}, w), c.K, hw, c.groups);
    Vec ref;
    int k0 = 0;
    for (int size : c.sizes) {
      const std::vector<float> ag(a.begin() + size_t(k0) * hw, a.begin() + size_t(k0 + size) * hw);
      const Vec s = naive_weighted(ag, Vec(w.begin() + k0, w.begin() + k0 + size), size, hw, true);
      ref.insert(ref.end(), s.begin(), s.end());
      k0 += size;
    }
    CHECK_CLOSE("group sums", out.to_host(), ref, kAtol, kRtol);
  }
}

TEST_CASE("cam_ops/channel weighted sum of score-weighted maps") {
  uc::Context ctx(Backend::CPU);
  const int M = 7, n = 11 * 13;
  const auto maps = random_vector(size_t(M) * n, 90, 0.f, 1.f);
  const auto s = random_vector(M, 91);
  for (bool relu : {false, true}) {
    Tensor out = cpu_zeros({n});
    uc::cam_channel_weighted_sum(ctx, out, cpu({M, n}, maps), cpu({M}, s), M, n, relu);
    CHECK_CLOSE("score weighted sum", out.to_host(),
                naive_weighted(maps, Vec(s.begin(), s.end()), M, n, relu), kAtol, kRtol);
  }
}

TEST_CASE("cam_ops/upsample_bilinear") {
  uc::Context ctx(Backend::CPU);
  std::mt19937 gen(5);
  for (int trial = 0; trial < 4; ++trial) {
    Sizes s = random_sizes(gen);
    if (trial == 3) s.H = s.h, s.W = s.w;  // identity resize
    const auto in = random_vector(size_t(s.K) * s.h * s.w, 100 + trial);
    Tensor out = cpu_zeros({s.K, s.H, s.W});
    uc::cam_upsample_bilinear(ctx, out, cpu({s.K, s.h, s.w}, in), s.K, s.h, s.w, s.H, s.W);
    auto src = [](int d, int n_in, int n_out, int& i0, int& i1, double& l) {
      const double c = std::max((d + 0.5) * n_in / n_out - 0.5, 0.0);
      i0 = std::min(int(std::floor(c)), n_in - 1);
      i1 = std::min(i0 + 1, n_in - 1);
      l = c - i0;
    };
    Vec ref(size_t(s.K) * s.H * s.W);
    for (int k = 0; k < s.K; ++k)
      for (int y = 0; y < s.H; ++y)
        for (int x = 0; x < s.W; ++x) {
          int y0, y1, x0, x1;
          double ly, lx;
          src(y, s.h, s.H, y0, y1, ly);
          src(x, s.w, s.W, x0, x1, lx);
          auto at = [&](int yy, int xx) { return double(in[(size_t(k) * s.h + yy) * s.w + xx]); };
          ref[(size_t(k) * s.H + y) * s.W + x] =
              (1 - ly) * ((1 - lx) * at(y0, x0) + lx * at(y0, x1)) +
              ly * ((1 - lx) * at(y1, x0) + lx * at(y1, x1));
        }
    CHECK_CLOSE("bilinear upsample", out.to_host(), ref, kAtol, kRtol);
    if (trial == 3) CHECK_CLOSE("identity resize", out.to_host(), in, 1e-7, 0);
  }
}

// Score-CAM skips a channel when its upsampled map is constant (METHODS.md): a constant
// activation must stay exactly constant through the resize at any ratio, or rounding noise
// would be forwarded as a mask (and the backends, which round differently, would disagree).
TEST_CASE("cam_ops/upsample_bilinear keeps constant maps exactly constant") {
  uc::Context ctx(Backend::CPU);
  const float values[] = {0.1f, 1.f / 3.f, 7.77f, -2.5e-3f, 123.456f};
  const int M = 5;
  for (int h : {3, 6, 7, 13, 17, 23}) {
    std::vector<float> in;
    for (float v : values) in.insert(in.end(), size_t(h) * h, v);
    for (int H : {96, 224, 100}) {
      Tensor out = cpu_zeros({M, H, H}), index = cpu_zeros({M});
      uc::cam_upsample_bilinear(ctx, out, cpu({M, h, h}, in), M, h, h, H, H);
      const std::vector<float> got = out.to_host();
      int64_t off = 0;
      for (int m = 0; m < M; ++m)
        for (int64_t p = 0; p < int64_t(H) * H; ++p, ++off)
          if (got[size_t(off)] != values[m])
            FAIL("map " << m << " of " << h << "x" << h << " -> " << H << ": " << got[size_t(off)]
                        << " != " << values[m]);
      CHECK(uc::cam_nonconstant_maps(ctx, index, out, M, H * H) == 0);
    }
  }
}

TEST_CASE("cam_ops/min_max, normalize, nonconstant") {
  uc::Context ctx(Backend::CPU);
  const int M = 5, n = 9 * 7;
  auto maps = random_vector(size_t(M) * n, 110, -2.f, 3.f);
  std::fill(maps.begin() + n, maps.begin() + 2 * n, 0.7f);     // constant map 1
  std::fill(maps.begin() + 3 * n, maps.begin() + 4 * n, 0.f);  // constant map 3
  Tensor t = cpu({M, n}, maps), lo = cpu_zeros({M}), hi = cpu_zeros({M});
  uc::cam_map_min_max(ctx, lo, hi, t, M, n);
  Vec ref_lo(M), ref_hi(M);
  for (int m = 0; m < M; ++m) {
    ref_lo[m] = *std::min_element(maps.begin() + size_t(m) * n, maps.begin() + size_t(m + 1) * n);
    ref_hi[m] = *std::max_element(maps.begin() + size_t(m) * n, maps.begin() + size_t(m + 1) * n);
  }
  CHECK_CLOSE("min", lo.to_host(), ref_lo, 0, 0);
  CHECK_CLOSE("max", hi.to_host(), ref_hi, 0, 0);

  Tensor index = cpu_zeros({M});
  CHECK(uc::cam_nonconstant_maps(ctx, index, t, M, n) == 3);
  const auto idx = index.to_host();
  CHECK_CLOSE("nonconstant indices", std::vector<float>(idx.begin(), idx.begin() + 3),
              Vec({0.0, 2.0, 4.0}), 0, 0);

  uc::cam_normalize_maps(ctx, t, M, n);
  Vec ref(maps.size());
  for (int m = 0; m < M; ++m)
    for (int i = 0; i < n; ++i) {
      const double range = ref_hi[m] - ref_lo[m];
      ref[size_t(m) * n + i] = range > 0 ? (maps[size_t(m) * n + i] - ref_lo[m]) / range : 0.0;
    }
  const auto got = t.to_host();
  CHECK_CLOSE("normalized maps", got, ref, kAtol, kRtol);
  CHECK(std::all_of(got.begin() + n, got.begin() + 2 * n, [](float x) { return x == 0.f; }));
}

TEST_CASE("cam_ops/masked_inputs") {
  uc::Context ctx(Backend::CPU);
  const int M = 6, H = 9, W = 13, n = H * W;
  const auto maps = random_vector(size_t(M) * n, 120, 0.f, 1.f);
  const auto x = random_vector(size_t(3) * n, 121);
  const auto sub = random_vector(size_t(3) * n, 122);
  auto expected = [&](const std::vector<int>& which) {
    Vec ref;
    for (int mi : which)
      for (int c = 0; c < 3; ++c)
        for (int p = 0; p < n; ++p) {
          const double mk = maps[size_t(mi) * n + p];
          ref.push_back(mk * x[size_t(c) * n + p] + (1 - mk) * sub[size_t(c) * n + p]);
        }
    return ref;
  };
  Tensor tm = cpu({M, H, W}, maps), tx = cpu({3, H, W}, x), ts = cpu({3, H, W}, sub);
  Tensor out = cpu_zeros({3, 3, H, W});
  uc::cam_masked_inputs(ctx, out, tm, nullptr, 2, 3, tx, ts, H, W);
  CHECK_CLOSE("masked inputs, direct", out.to_host(), expected({2, 3, 4}), kAtol, kRtol);

  const Tensor index = cpu({4}, {5.f, 0.f, 3.f, 1.f});
  uc::cam_masked_inputs(ctx, out, tm, &index, 1, 3, tx, ts, H, W);
  CHECK_CLOSE("masked inputs, indexed", out.to_host(), expected({0, 3, 1}), kAtol, kRtol);
}

TEST_CASE("cam_ops/gaussian_blur: constant image and naive 2-D convolution") {
  uc::Context ctx(Backend::CPU);
  const int H = 9, W = 11;
  Tensor out = cpu_zeros({3, H, W});
  uc::cam_gaussian_blur(ctx, out, cpu({3, H, W}, std::vector<float>(3 * H * W, 0.4f)), H, W, 51,
                        50.f);
  CHECK_CLOSE("blur of a constant", out.to_host(), Vec(3 * H * W, 0.4), 1e-6, 0);

  const auto img = random_vector(size_t(3) * H * W, 130);
  for (auto [ksize, sigma] : {std::pair{51, 50.f}, std::pair{5, 1.f}}) {
    CAPTURE(ksize);
    uc::cam_gaussian_blur(ctx, out, cpu({3, H, W}, img), H, W, ksize, sigma);
    CHECK_CLOSE("blur vs 2-D reflect convolution", out.to_host(),
                naive_blur(img, H, W, ksize, sigma), kAtol, kRtol);
  }
  Tensor in_place = cpu({3, H, W}, img);
  uc::cam_gaussian_blur(ctx, in_place, in_place, H, W, 5, 1.f);
  CHECK_CLOSE("blur in place", in_place.to_host(), out.to_host(), 0, 0);
}

TEST_CASE("cam_ops/gaussian_blur: PyTorch F.pad(reflect) + separable conv2d") {
  uc::Context ctx(Backend::CPU);
  const int H = 16, W = 16;
  Tensor out = cpu_zeros({3, H, W});
  uc::cam_gaussian_blur(ctx, out, cpu({3, H, W}, test_image(H, W)), H, W, 7, 2.f);
  // torch 2.x, float32: F.pad(x, (3,3,3,3), mode="reflect"), then 1x7 and 7x1 depthwise conv2d.
  const struct {
    int c, y, x;
    float v;
  } ref[] = {{0, 0, 0, 0.8585395f},   {0, 0, 15, 0.8469512f},  {0, 15, 0, -0.0809936f},
             {0, 15, 15, 1.9535843f}, {0, 1, 2, 0.6779548f},   {0, 7, 8, 1.1560704f},
             {1, 0, 5, 0.0823629f},   {1, 3, 0, 0.2003520f},   {1, 9, 14, 1.9228718f},
             {1, 15, 7, 0.2593362f},  {2, 2, 2, -0.2141936f},  {2, 8, 15, 1.9216777f},
             {2, 14, 1, 0.7943699f},  {2, 12, 12, 1.4647630f}, {2, 5, 10, 0.6111308f}};
  const auto got = out.to_host();
  std::vector<float> actual, expected;
  for (const auto& r : ref) {
    actual.push_back(got[(size_t(r.c) * H + r.y) * W + r.x]);
    expected.push_back(r.v);
  }
  CHECK_CLOSE("blur vs PyTorch", actual, expected, 2e-6, 1e-5);
}

TEST_CASE("cam_ops/class_scores") {
  uc::Context ctx(Backend::CPU);
  const int m = 3, classes = 5;
  std::vector<float> z = random_vector(size_t(m) * classes, 140, -3.f, 3.f);
  // Row 2 overflows exp() unless shifted by its maximum.
  for (int j = 0; j < classes; ++j) z[size_t(2) * classes + j] = 1000.f + j;
  const Tensor logits = cpu({m, classes}, z);
  Vec sums(m, 0.0);
  for (int c = 0; c < classes; ++c) {
    Tensor out = cpu_zeros({m + 2});
    uc::cam_class_scores(ctx, out, 2, logits, m, classes, c, uc::ScoreKind::Prob);
    const auto got = out.to_host();
    Vec ref(m);
    for (int i = 0; i < m; ++i) {
      // Row 2 (1000 + j) has the softmax of (0 .. classes-1); the others are small enough as is.
      const double shift = i == 2 ? 1000.0 : 0.0;
      double sum = 0;
      for (int j = 0; j < classes; ++j) sum += std::exp(double(z[size_t(i) * classes + j]) - shift);
      ref[i] = std::exp(double(z[size_t(i) * classes + c]) - shift) / sum;
      sums[i] += got[2 + i];
    }
    CHECK_CLOSE("probabilities", std::vector<float>(got.begin() + 2, got.end()), ref, 1e-6, 1e-5);
    CHECK(got[0] == 0.f);
    CHECK(got[1] == 0.f);

    uc::cam_class_scores(ctx, out, 0, logits, m, classes, c, uc::ScoreKind::Logit);
    const auto logit = out.to_host();
    for (int i = 0; i < m; ++i) CHECK(logit[i] == z[size_t(i) * classes + c]);
  }
  CHECK_CLOSE("probabilities sum to 1", sums, Vec(m, 1.0), 1e-5, 0);
}

TEST_CASE("cam_ops/saliency_order breaks ties by index") {
  uc::Context ctx(Backend::CPU);
  const std::vector<float> map = {0.2f, 0.9f, 0.2f, 0.5f, 0.9f, 0.f, 0.5f, 0.2f};
  Tensor order = cpu_zeros({8});
  uc::cam_saliency_order(ctx, order, cpu({8}, map), 8);
  CHECK_CLOSE("order", order.to_host(), Vec({1, 4, 3, 6, 0, 2, 7, 5}), 0, 0);
}

TEST_CASE("cam_ops/curve_images") {
  uc::Context ctx(Backend::CPU);
  const int H = 8, W = 10, n = H * W, step = 2 * W;
  const int steps = (n + step - 1) / step;  // n + 1 images: 0 .. steps
  const auto map = random_vector(n, 150, 0.f, 1.f);
  const auto start = random_vector(size_t(3) * n, 151);
  const auto source = random_vector(size_t(3) * n, 152);
  Tensor order = cpu_zeros({n});
  uc::cam_saliency_order(ctx, order, cpu({n}, map), n);
  const auto ord = order.to_host();

  const int m = steps + 1;
  Tensor out = cpu_zeros({m, 3, H, W});
  uc::cam_curve_images(ctx, out, order, cpu({3, H, W}, start), cpu({3, H, W}, source), 0, m, step,
                       H, W);
  const auto got = out.to_host();
  Vec ref;
  for (int i = 0; i < m; ++i) {
    std::vector<char> taken(n, 0);
    for (int r = 0; r < std::min(i * step, n); ++r) taken[size_t(ord[r])] = 1;
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < n; ++p) ref.push_back((taken[p] ? source : start)[size_t(c) * n + p]);
  }
  CHECK_CLOSE("curve images", got, ref, 0, 0);
  CHECK_CLOSE("first image is start", std::vector<float>(got.begin(), got.begin() + 3 * n), start,
              0, 0);
  CHECK_CLOSE("last image is source", std::vector<float>(got.end() - 3 * n, got.end()), source, 0,
              0);

  // A later window of the same curve matches the corresponding images.
  Tensor part = cpu_zeros({2, 3, H, W});
  uc::cam_curve_images(ctx, part, order, cpu({3, H, W}, start), cpu({3, H, W}, source), 2, 2, step,
                       H, W);
  CHECK_CLOSE("curve window", part.to_host(),
              std::vector<float>(got.begin() + 2 * 3 * n, got.begin() + 4 * 3 * n), 0, 0);
}

TEST_CASE("cam_ops/score differences and scatter keep per-channel scores on the device") {
  uc::Context ctx(uc::Backend::CPU);
  const std::vector<float> s = {0.5f, 0.7f, 0.2f, 0.5f, 0.9f};
  const uc::Tensor scores = uc::Tensor::from_host(uc::Backend::CPU, {5}, s);
  uc::Tensor diff = uc::Tensor::zeros(uc::Backend::CPU, {4});
  uc::cam_score_differences(ctx, diff, scores, 1, 4, true);
  CHECK_CLOSE("relu(s - s0)", diff.to_host(), (std::vector<float>{0.2f, 0.f, 0.f, 0.4f}), 1e-7, 0);
  uc::cam_score_differences(ctx, diff, scores, 1, 4, false);
  CHECK_CLOSE("s - s0", diff.to_host(), (std::vector<float>{0.2f, -0.3f, 0.f, 0.4f}), 1e-7, 0);

  uc::Tensor dst = uc::Tensor::from_host(uc::Backend::CPU, {6}, std::vector<float>(6, 9.f));
  const uc::Tensor index =
      uc::Tensor::from_host(uc::Backend::CPU, {3}, std::vector<float>{1.f, 4.f, 5.f});
  const uc::Tensor src =
      uc::Tensor::from_host(uc::Backend::CPU, {3}, std::vector<float>{0.1f, 0.2f, 0.3f});
  uc::cam_scatter(ctx, dst, src, index, 3, 6);
  CHECK_CLOSE("scatter", dst.to_host(), (std::vector<float>{0, 0.1f, 0, 0, 0.2f, 0.3f}), 0, 0);
  uc::cam_scatter(ctx, dst, src, index, 0, 6);
  CHECK_CLOSE("scatter of nothing zeroes", dst.to_host(), std::vector<float>(6, 0.f), 0, 0);
}
