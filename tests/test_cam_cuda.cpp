// Every CAM operation of cam/ops.h through the CPU reference and the CUDA kernels on the same
// random inputs, at VGG16 sizes and at awkward ones. Skipped where no GPU is present.
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
using uc::Context;
using uc::MathMode;
using uc::Shape;
using uc::Tensor;

using uc::test::random_cpu;

// Loop parameters (doctest's INFO captures by reference, which structured bindings do not allow).
struct Dims {
  int rows, cols;
};

using uc::test::to_cuda;

// A pair of output tensors of one shape, one per backend.
struct Outputs {
  Tensor cpu, gpu;
  explicit Outputs(const Shape& shape)
      : cpu(Tensor::zeros(Backend::CPU, shape)), gpu(Tensor::zeros(Backend::CUDA, shape)) {}
};

// atol is relative to the largest expected magnitude, so values that cancel to near zero are
// judged against the size of the result rather than their own.
void check_same(const std::string& name, const Tensor& gpu, const Tensor& cpu, double rtol,
                double atol_scale) {
  const std::vector<float> actual = gpu.to_host(), expected = cpu.to_host();
  double scale = 0;
  for (float v : expected) scale = std::max(scale, double(std::fabs(v)));
  CHECK_CLOSE(name, actual, expected, atol_scale * scale, rtol);
}

void check_identical(const std::string& name, const Tensor& gpu, const Tensor& cpu) {
  CHECK_CLOSE(name, gpu.to_host(), cpu.to_host(), 0.0, 0.0);
}

// Values on a coarse grid in [-1, 1], so many are equal (and some are -0.0 next to +0.0).
Tensor quantised_cpu(const Shape& shape, uint32_t seed, int levels) {
  std::vector<float> v = uc::test::random_vector(size_t(uc::shape_numel(shape)), seed);
  for (float& x : v) x = std::round(x * levels) / levels;
  for (size_t i = 0; i < v.size(); i += 7)
    if (v[i] == 0.f) v[i] = -0.f;
  return Tensor::from_host(Backend::CPU, shape, v);
}

}  // namespace

TEST_CASE("cuda/cam_ops channel means and Grad-CAM++ weights" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  for (const Dims d : {Dims{512, 196}, Dims{7, 1000}, Dims{3, 1}, Dims{64, 3136}}) {
    const int K = d.rows, hw = d.cols;
    INFO("K=", K, " hw=", hw);
    const Tensor g = random_cpu({K, hw}, 1, -1e-3f, 1e-3f), a = random_cpu({K, hw}, 2, 0.f, 4.f);
    const Tensor gg = to_cuda(g), ga = to_cuda(a);
    Outputs means({K});
    uc::cam_channel_means(cpu, means.cpu, g, K, hw);
    uc::cam_channel_means(gpu, means.gpu, gg, K, hw);
    check_same("channel means", means.gpu, means.cpu, 1e-4, 1e-5);

    Outputs pp({K});
    uc::cam_gradcampp_weights(cpu, pp.cpu, g, a, K, hw);
    uc::cam_gradcampp_weights(gpu, pp.gpu, gg, ga, K, hw);
    check_same("Grad-CAM++ weights", pp.gpu, pp.cpu, 1e-4, 1e-6);
  }
}

TEST_CASE("cuda/cam_ops denoised pixel weights (percentile threshold)" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  for (const Dims d : {Dims{512, 196}, Dims{5, 1000}, Dims{16, 3136}, Dims{4, 1}, Dims{3, 2}}) {
    const int K = d.rows, hw = d.cols;
    for (const bool ties : {false, true}) {
      // Gradients with a constant channel and an all-negative one next to random channels.
      Tensor g = ties ? quantised_cpu({K, hw}, 3, 4) : random_cpu({K, hw}, 4);
      std::vector<float> values = g.to_host();
      std::fill(values.begin(), values.begin() + hw, 0.25f);
      if (K > 1) std::fill(values.begin() + hw, values.begin() + 2 * hw, -0.5f);
      g = Tensor::from_host(Backend::CPU, {K, hw}, values);
      const Tensor gg = to_cuda(g);
      for (const float theta : {0.f, 10.f, 37.5f, 100.f}) {
        INFO("K=", K, " hw=", hw, " ties=", ties, " theta=", theta);
        Outputs p({K, hw});
        uc::cam_denoised_pixel_weights(cpu, p.cpu, g, K, hw, theta);
        uc::cam_denoised_pixel_weights(gpu, p.gpu, gg, K, hw, theta);
        check_same("denoised pixel weights", p.gpu, p.cpu, 1e-4, 1e-6);
      }
    }
  }
}

TEST_CASE("cuda/cam_ops weighted sums over channels" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  for (const Dims d : {Dims{512, 196}, Dims{10, 3136}, Dims{1, 5}, Dims{37, 50}}) {
    const int K = d.rows, hw = d.cols;
    INFO("K=", K, " hw=", hw);
    const Tensor a = random_cpu({K, hw}, 5, 0.f, 2.f), w = random_cpu({K}, 6),
                 p = random_cpu({K, hw}, 7, 0.f, 0.01f);
    const Tensor ga = to_cuda(a), gw = to_cuda(w), gp = to_cuda(p);
    for (const bool relu : {false, true}) {
      INFO("relu=", relu);
      Outputs channel({hw}), pixel({hw});
      uc::cam_channel_weighted_sum(cpu, channel.cpu, a, w, K, hw, relu);
      uc::cam_channel_weighted_sum(gpu, channel.gpu, ga, gw, K, hw, relu);
      check_same("channel-weighted sum", channel.gpu, channel.cpu, 1e-4, 1e-5);
      uc::cam_pixel_weighted_sum(cpu, pixel.cpu, a, p, K, hw, relu);
      uc::cam_pixel_weighted_sum(gpu, pixel.gpu, ga, gp, K, hw, relu);
      check_same("pixel-weighted sum", pixel.gpu, pixel.cpu, 1e-4, 1e-5);
    }
  }
}

TEST_CASE("cuda/cam_ops Group-CAM group sums" * UC_NEEDS_GPU) {
  CHECK(uc::cam_group_count(512, 32) == 32);
  CHECK(uc::cam_group_count(10, 4) == 4);  // chunks of 3: 3, 3, 3, 1
  CHECK(uc::cam_group_count(10, 6) == 5);  // chunks of 2: fewer groups than asked
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  struct Grouping {
    int K, G, hw;
  };
  for (const Grouping c : {Grouping{512, 32, 196}, Grouping{10, 4, 196}, Grouping{10, 6, 49},
                           Grouping{3, 8, 300}}) {
    const int K = c.K, G = c.G, hw = c.hw;
    INFO("K=", K, " G=", G, " hw=", hw);
    const int groups = uc::cam_group_count(K, G);
    const Tensor a = random_cpu({K, hw}, 8, 0.f, 2.f), w = random_cpu({K}, 9);
    Outputs out({groups, hw});
    uc::cam_group_sums(cpu, out.cpu, a, w, K, hw, G);
    uc::cam_group_sums(gpu, out.gpu, to_cuda(a), to_cuda(w), K, hw, G);
    check_same("group sums", out.gpu, out.cpu, 1e-4, 1e-5);
  }
}

TEST_CASE("cuda/cam_ops channel-weighted sum of Score-CAM maps" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  for (const Dims d : {Dims{512, 224 * 224}, Dims{3, 17}}) {
    const int M = d.rows, n = d.cols;
    INFO("M=", M, " n=", n);
    const Tensor maps = random_cpu({M, n}, 10, 0.f, 3.f), s = random_cpu({M}, 11, -0.2f, 1.f);
    const Tensor gmaps = to_cuda(maps), gs = to_cuda(s);
    for (const bool relu : {false, true}) {
      Outputs out({n});
      uc::cam_channel_weighted_sum(cpu, out.cpu, maps, s, M, n, relu);
      uc::cam_channel_weighted_sum(gpu, out.gpu, gmaps, gs, M, n, relu);
      check_same(relu ? "score-weighted sum, ReLU" : "score-weighted sum", out.gpu, out.cpu, 1e-4,
                 1e-5);
    }
  }
}

TEST_CASE("cuda/cam_ops bilinear upsample" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  struct Size {
    int M, h, w, H, W;
  };
  for (const Size s : {Size{512, 14, 14, 224, 224}, Size{3, 7, 5, 13, 17}, Size{2, 20, 20, 7, 9},
                       Size{1, 1, 1, 4, 3}, Size{2, 7, 7, 7, 7}}) {
    INFO("M=", s.M, " ", s.h, "x", s.w, " -> ", s.H, "x", s.W);
    const Tensor in = random_cpu({s.M, s.h, s.w}, 12);
    Outputs out({s.M, s.H, s.W});
    uc::cam_upsample_bilinear(cpu, out.cpu, in, s.M, s.h, s.w, s.H, s.W);
    uc::cam_upsample_bilinear(gpu, out.gpu, to_cuda(in), s.M, s.h, s.w, s.H, s.W);
    check_same("bilinear upsample", out.gpu, out.cpu, 1e-5, 1e-6);
  }
  // Constant maps stay exactly constant at ratios that are not powers of two, so Score-CAM's
  // constant-channel rule skips the same channels on both backends.
  for (const int h : {13, 17}) {
    INFO("constant ", h, "x", h, " -> 224x224");
    const int M = 4, H = 224;
    std::vector<float> values(size_t(M) * h * h);
    for (size_t i = 0; i < values.size(); ++i) values[i] = 0.1f + 0.37f * float(i / (size_t(h) * h));
    const Tensor in = Tensor::from_host(Backend::CUDA, {M, h, h}, values);
    Tensor out = Tensor::zeros(Backend::CUDA, {M, H, H}), index = Tensor::zeros(Backend::CUDA, {M});
    uc::cam_upsample_bilinear(gpu, out, in, M, h, h, H, H);
    CHECK(uc::cam_nonconstant_maps(gpu, index, out, M, H * H) == 0);
  }
}

TEST_CASE("cuda/cam_ops min/max, normalization and non-constant maps" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  std::mt19937 gen(13);
  for (const Dims d : {Dims{64, 224 * 224}, Dims{4096, 9}, Dims{1000, 1}, Dims{3, 5}}) {
    const int M = d.rows, n = d.cols;
    INFO("M=", M, " n=", n);
    // About a third of the maps constant (zero or another value), some differing in one pixel.
    std::vector<float> values = random_cpu({M, n}, 14).to_host();
    for (int m = 0; m < M; ++m) {
      const unsigned kind = gen() % 6;
      float* v = values.data() + int64_t(m) * n;
      if (kind <= 1) std::fill(v, v + n, kind == 0 ? 0.f : 0.75f);
      if (kind == 2) std::fill(v, v + n - 1, -2.f);
    }
    const Tensor maps = Tensor::from_host(Backend::CPU, {M, n}, values);
    const Tensor gmaps = to_cuda(maps);

    Outputs lo({M}), hi({M});
    uc::cam_map_min_max(cpu, lo.cpu, hi.cpu, maps, M, n);
    uc::cam_map_min_max(gpu, lo.gpu, hi.gpu, gmaps, M, n);
    check_identical("map min", lo.gpu, lo.cpu);
    check_identical("map max", hi.gpu, hi.cpu);

    Outputs index({M});
    const int count_cpu = uc::cam_nonconstant_maps(cpu, index.cpu, maps, M, n);
    const int count_gpu = uc::cam_nonconstant_maps(gpu, index.gpu, gmaps, M, n);
    CHECK(count_gpu == count_cpu);
    const std::vector<float> idx_cpu = index.cpu.to_host(), idx_gpu = index.gpu.to_host();
    CHECK_CLOSE("non-constant indices", std::vector<float>(idx_gpu.begin(), idx_gpu.begin() + count_cpu),
                std::vector<float>(idx_cpu.begin(), idx_cpu.begin() + count_cpu), 0.0, 0.0);

    Tensor normalized = Tensor::from_host(Backend::CPU, {M, n}, values);
    Tensor gnormalized = to_cuda(maps);
    uc::cam_normalize_maps(cpu, normalized, M, n);
    uc::cam_normalize_maps(gpu, gnormalized, M, n);
    check_same("normalized maps", gnormalized, normalized, 1e-6, 1e-7);
  }
}

TEST_CASE("cuda/cam_ops masked inputs" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  const int H = 224, W = 224, M = 64, m = 32, first = 5;
  const Tensor maps = random_cpu({M, H, W}, 15, 0.f, 1.f), x = random_cpu({3, H, W}, 16, -2.f, 2.f),
               substrate = random_cpu({3, H, W}, 17, -2.f, 2.f);
  // A shuffled subset of map indices, as cam_nonconstant_maps would hand over.
  std::vector<float> picks(M);
  std::iota(picks.begin(), picks.end(), 0.f);
  std::shuffle(picks.begin(), picks.end(), std::mt19937(18));
  const Tensor index = Tensor::from_host(Backend::CPU, {M}, picks);
  const Tensor gmaps = to_cuda(maps), gx = to_cuda(x), gsub = to_cuda(substrate),
               gindex = to_cuda(index);

  Outputs picked({m, 3, H, W}), direct({m, 3, H, W});
  uc::cam_masked_inputs(cpu, picked.cpu, maps, &index, first, m, x, substrate, H, W);
  uc::cam_masked_inputs(gpu, picked.gpu, gmaps, &gindex, first, m, gx, gsub, H, W);
  check_same("masked inputs through an index", picked.gpu, picked.cpu, 1e-6, 1e-6);
  uc::cam_masked_inputs(cpu, direct.cpu, maps, nullptr, first, m, x, substrate, H, W);
  uc::cam_masked_inputs(gpu, direct.gpu, gmaps, nullptr, first, m, gx, gsub, H, W);
  check_same("masked inputs, maps in order", direct.gpu, direct.cpu, 1e-6, 1e-6);
}

TEST_CASE("cuda/cam_ops Gaussian blur with reflect padding" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  struct Case {
    int H, W, ksize;
    float sigma;
  };
  // 51/50 on 224x224 is Group-CAM's blur; the smaller images need one reflection (32x32),
  // repeated reflections (12x9) or collapse to a single row (1x5).
  for (const Case c : {Case{224, 224, 51, 50.f}, Case{32, 32, 51, 50.f}, Case{12, 9, 51, 50.f},
                       Case{1, 5, 7, 1.5f}, Case{20, 30, 1, 1.f}}) {
    INFO(c.H, "x", c.W, " ksize=", c.ksize, " sigma=", c.sigma);
    const Tensor in = random_cpu({3, c.H, c.W}, 19, -2.f, 2.f);
    Outputs out({3, c.H, c.W});
    uc::cam_gaussian_blur(cpu, out.cpu, in, c.H, c.W, c.ksize, c.sigma);
    uc::cam_gaussian_blur(gpu, out.gpu, to_cuda(in), c.H, c.W, c.ksize, c.sigma);
    check_same("Gaussian blur", out.gpu, out.cpu, 1e-5, 1e-5);

    Tensor inplace = to_cuda(in);
    uc::cam_gaussian_blur(gpu, inplace, inplace, c.H, c.W, c.ksize, c.sigma);
    check_same("Gaussian blur in place", inplace, out.cpu, 1e-5, 1e-5);
  }
}

TEST_CASE("cuda/cam_ops class scores" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  for (const Dims d : {Dims{37, 1000}, Dims{1, 3}, Dims{64, 10}}) {
    const int m = d.rows, classes = d.cols;
    INFO("m=", m, " classes=", classes);
    const Tensor logits = random_cpu({m, classes}, 20, -15.f, 15.f);
    const Tensor glogits = to_cuda(logits);
    const int c = classes / 3, offset = 3;
    for (const auto kind : {uc::ScoreKind::Prob, uc::ScoreKind::Logit}) {
      Outputs out({offset + m + 4});
      uc::cam_class_scores(cpu, out.cpu, offset, logits, m, classes, c, kind);
      uc::cam_class_scores(gpu, out.gpu, offset, glogits, m, classes, c, kind);
      check_same(kind == uc::ScoreKind::Prob ? "class probabilities" : "class logits", out.gpu,
                 out.cpu, 1e-5, 1e-7);
    }
  }
}

TEST_CASE("cuda/cam_ops saliency order and curve images" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  const int H = 224, W = 224, n = H * W, step = 2 * W, steps = (n + step - 1) / step;
  // A quantised map has long runs of ties: only the index rule orders them.
  for (const int levels : {0, 16, 1000}) {
    INFO("levels=", levels);
    const Tensor map = levels ? quantised_cpu({n}, 21, levels) : random_cpu({n}, 22);
    Outputs order({n});
    uc::cam_saliency_order(cpu, order.cpu, map, n);
    uc::cam_saliency_order(gpu, order.gpu, to_cuda(map), n);
    check_identical("saliency order", order.gpu, order.cpu);
  }

  const Tensor big = quantised_cpu({1 << 20}, 23, 64);
  Outputs big_order({1 << 20});
  uc::cam_saliency_order(cpu, big_order.cpu, big, 1 << 20);
  uc::cam_saliency_order(gpu, big_order.gpu, to_cuda(big), 1 << 20);
  check_identical("saliency order of 1M pixels", big_order.gpu, big_order.cpu);

  const Tensor map = quantised_cpu({n}, 24, 32);
  Tensor order = Tensor::empty(Backend::CPU, {n});
  uc::cam_saliency_order(cpu, order, map, n);
  const Tensor start = random_cpu({3, H, W}, 25), source = random_cpu({3, H, W}, 26);
  const Tensor gorder = to_cuda(order), gstart = to_cuda(start), gsource = to_cuda(source);
  // The first images of a curve, and the last ones, whose final image is all `source`.
  for (const Dims d : {Dims{0, 8}, Dims{steps - 12, 13}}) {
    const int first = d.rows, m = d.cols;
    INFO("first=", first, " m=", m);
    Outputs images({m, 3, H, W});
    uc::cam_curve_images(cpu, images.cpu, order, start, source, first, m, step, H, W);
    uc::cam_curve_images(gpu, images.gpu, gorder, gstart, gsource, first, m, step, H, W);
    check_identical("curve images", images.gpu, images.cpu);
  }
}

TEST_CASE("cuda/cam_ops score differences and scatter" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::FP32);
  const int K = 512, live = 300;
  const Tensor scores = random_cpu({K + 1}, 31, 0.f, 1.f);
  for (bool relu : {true, false}) {
    Outputs diff({K});
    uc::cam_score_differences(cpu, diff.cpu, scores, 1, K, relu);
    uc::cam_score_differences(gpu, diff.gpu, to_cuda(scores), 1, K, relu);
    check_identical(relu ? "relu score differences" : "score differences", diff.gpu, diff.cpu);
  }
  std::vector<float> index(live);
  for (int i = 0; i < live; ++i) index[i] = float(i * K / live);  // increasing, distinct
  const Tensor idx = Tensor::from_host(Backend::CPU, {live}, index), src = random_cpu({live}, 32);
  Outputs dst({K});
  uc::cam_scatter(cpu, dst.cpu, src, idx, live, K);
  uc::cam_scatter(gpu, dst.gpu, to_cuda(src), to_cuda(idx), live, K);
  check_identical("scatter", dst.gpu, dst.cpu);
}
