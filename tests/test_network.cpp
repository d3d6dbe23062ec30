// Whole-network behaviour that needs no reference file: structure, naming, the two forward
// paths agreeing, backward stopping points, and CUDA against CPU (skipped without a GPU).
#include <cmath>

#include "core/error.h"
#include "runtime/network.h"
#include "tests/check.h"
#include "weights/random_vgg.h"

using namespace uc;

namespace {
std::vector<float> seeded_input(int n, int h, int w, uint32_t seed) {
  return test::random_vector(static_cast<size_t>(n) * 3 * h * w, seed, -2.f, 2.f);
}
NetworkOptions batches(int max_batch, int max_grad_batch,
                       ForwardLayout layout = ForwardLayout::Auto) {
  NetworkOptions o;
  o.max_batch = max_batch;
  o.max_grad_batch = max_grad_batch;
  o.layout = layout;
  return o;
}
Tensor one_hot(Backend b, int n, int classes, const std::vector<int>& cls) {
  std::vector<float> v(static_cast<size_t>(n * classes), 0.f);
  for (int i = 0; i < n; ++i)
    v[static_cast<size_t>(i * classes + cls[static_cast<size_t>(i)])] = 1.f;
  return Tensor::from_host(b, {n, classes}, v);
}
}  // namespace

TEST_CASE("network/names and default target layers follow torchvision") {
  Context ctx(Backend::CPU);
  struct Case {
    int depth;
    bool bn;
    const char* target;
    size_t features;
  };
  for (const Case c : {Case{11, false, "features.19", 21}, Case{16, false, "features.29", 31},
                       Case{16, true, "features.42", 44}, Case{19, false, "features.35", 37},
                       Case{13, true, "features.33", 35}}) {
    const ModelWeights w = random_vgg_weights(c.depth, c.bn, 10, 1, 32, 16, 32);
    NetworkOptions o;
    o.max_batch = 1;
    VggNetwork net(ctx, w, o);
    CAPTURE(c.depth);
    CHECK(net.last_conv_relu() == c.target);
    CHECK(net.layer_index("features." + std::to_string(c.features - 1)) >= 0);
    CHECK(net.layer_index("features." + std::to_string(c.features)) < 0);
    CHECK(net.layer("avgpool").out_shape == Shape{512 / 32, 7, 7});
    CHECK(net.layer("classifier.6").out_shape == Shape{10});
    CHECK(net.layer(c.target).kind == LayerKind::ReLU);
    CHECK_THROWS_AS(net.layer("features.999"), Error);
  }
}

TEST_CASE("network/forward and forward_keep give the same logits for a batch") {
  Context ctx(Backend::CPU);
  const ModelWeights w = random_vgg_weights(16, true, 7, 3, 16, 32, 64);
  NetworkOptions o = batches(3, 3);
  VggNetwork net(ctx, w, o);
  const Tensor x = Tensor::from_host(Backend::CPU, {3, 3, 64, 64}, seeded_input(3, 64, 64, 5));
  const std::vector<float> a = net.forward(x).to_host();
  const std::vector<float> b = net.forward_keep(x).to_host();
  CHECK_CLOSE("logits", a, b, 1e-6, 1e-6);
  // Each batch item is independent of the others.
  const std::vector<float> single = net.forward(x.view(3 * 64 * 64, {1, 3, 64, 64})).to_host();
  CHECK_CLOSE("item 1 alone", single, std::vector<float>(a.begin() + 7, a.begin() + 14), 1e-5,
              1e-5);
}

TEST_CASE("network/backward to the input matches finite differences") {
  Context ctx(Backend::CPU);
  const ModelWeights w = random_vgg_weights(11, false, 5, 7, 16, 16, 32);
  NetworkOptions o = batches(1, 1);
  VggNetwork net(ctx, w, o);
  std::vector<float> x = seeded_input(1, 32, 32, 9);
  Tensor input = Tensor::from_host(Backend::CPU, {1, 3, 32, 32}, x);
  const std::vector<float> logits = net.forward_keep(input).to_host();
  const int cls = 2;
  const std::vector<float> grad =
      net.backward(one_hot(Backend::CPU, 1, 5, {cls}), "input").to_host();
  // Central differences of the class logit at a few input positions (float: loose tolerance).
  std::vector<float> numeric, analytic;
  for (size_t idx : {size_t{0}, size_t{100}, size_t{777}, size_t{1500}, size_t{3000}}) {
    const float h = 1e-2f, keep = x[idx];
    x[idx] = keep + h;
    const float up = net.forward(Tensor::from_host(Backend::CPU, {1, 3, 32, 32}, x)).to_host()[cls];
    x[idx] = keep - h;
    const float down =
        net.forward(Tensor::from_host(Backend::CPU, {1, 3, 32, 32}, x)).to_host()[cls];
    x[idx] = keep;
    numeric.push_back((up - down) / (2 * h));
    analytic.push_back(grad[idx]);
  }
  double scale = 0;
  for (float g : grad) scale = std::max(scale, static_cast<double>(std::fabs(g)));
  CHECK_CLOSE("d logit / d input", analytic, numeric, 2e-2 * scale, 5e-2);
  (void)logits;
}

TEST_CASE("network/backward stops at the named layer with its shape") {
  Context ctx(Backend::CPU);
  const ModelWeights w = random_vgg_weights(16, false, 4, 2, 32, 16, 64);
  NetworkOptions o = batches(2, 2);
  VggNetwork net(ctx, w, o);
  net.forward_keep(Tensor::from_host(Backend::CPU, {2, 3, 64, 64}, seeded_input(2, 64, 64, 1)));
  const Tensor g = net.backward(one_hot(Backend::CPU, 2, 4, {0, 3}), "features.29");
  CHECK(g.shape() == Shape{2, 16, 4, 4});
  // One step further down, at the convolution features.28, the gradient passes only where
  // the ReLU was active.
  const std::vector<float> act = net.activation("features.29").to_host();
  const std::vector<float> g28 =
      net.backward(one_hot(Backend::CPU, 2, 4, {0, 3}), "features.28").to_host();
  size_t violations = 0;
  for (size_t i = 0; i < act.size(); ++i) violations += (act[i] <= 0.f && g28[i] != 0.f);
  CHECK(violations == 0);
  CHECK_THROWS_AS(net.backward(one_hot(Backend::CPU, 2, 4, {0, 0}), "features.77"), Error);
}

TEST_CASE("network/rejects input sizes that are not multiples of 32") {
  Context ctx(Backend::CPU);
  const ModelWeights w = random_vgg_weights(11, false, 3, 1, 32, 8, 32);
  NetworkOptions o;
  o.input_h = 48;
  o.input_w = 64;
  CHECK_THROWS_AS(VggNetwork(ctx, w, o), Error);
}

TEST_CASE("cuda/whole network matches the CPU, forward and backward" * UC_NEEDS_GPU) {
  for (bool bn : {false, true}) {
    const ModelWeights w = random_vgg_weights(16, bn, 10, 11, 8, 64, 64);
    const std::vector<float> x = seeded_input(2, 64, 64, 4);
    std::vector<float> logits[2], grads[2], keep_logits[2];
    for (int b = 0; b < 2; ++b) {
      const Backend backend = b ? Backend::CUDA : Backend::CPU;
      Context ctx(backend, MathMode::FP32);
      NetworkOptions o = batches(2, 2);
      VggNetwork net(ctx, w, o);
      const Tensor input = Tensor::from_host(backend, {2, 3, 64, 64}, x);
      logits[b] = net.forward(input).to_host();
      keep_logits[b] = net.forward_keep(input).to_host();
      grads[b] = net.backward(one_hot(backend, 2, 10, {1, 7}), net.last_conv_relu()).to_host();
    }
    double lmax = 0, gmax = 0;
    for (float v : logits[0]) lmax = std::max(lmax, static_cast<double>(std::fabs(v)));
    for (float v : grads[0]) gmax = std::max(gmax, static_cast<double>(std::fabs(v)));
    CHECK_CLOSE("cuda logits", logits[1], logits[0], 1e-4 * lmax, 1e-4);
    CHECK_CLOSE("cuda keep logits", keep_logits[1], logits[0], 1e-4 * lmax, 1e-4);
    CHECK_CLOSE("cuda gradient at target", grads[1], grads[0], 1e-4 * gmax, 1e-4);
  }
}

TEST_CASE("cuda/a batch past cuDNN's 2^31 elements per tensor is a usage error" * UC_NEEDS_GPU) {
  // 64x64, first width 64/8 = 8: the largest map is 8*64*64 elements per image, cap 65535.
  const ModelWeights w = random_vgg_weights(11, false, 10, 1, 8, 64, 64);
  Context ctx(Backend::CUDA, MathMode::FP32);
  CHECK_THROWS_WITH_AS(VggNetwork(ctx, w, batches(65536, 1)), doctest::Contains("at most 65535"),
                       Error);
  CHECK_THROWS_WITH_AS(VggNetwork(ctx, w, batches(1, 65536)), doctest::Contains("2^31"), Error);
}

// 2e-2: an emulation of TF32 on 12 such networks moved logits by up to 5.6e-3 of the largest
// when the tensor cores truncate, 1.2e-3 when they round.
TEST_CASE("cuda/whole network in tf32 stays within 2e-2" * UC_NEEDS_GPU) {
  const ModelWeights w = random_vgg_weights(16, false, 10, 12, 4, 128, 64);
  const std::vector<float> x = seeded_input(1, 64, 64, 8);
  std::vector<float> logits[2];
  for (int b = 0; b < 2; ++b) {
    const Backend backend = b ? Backend::CUDA : Backend::CPU;
    Context ctx(backend, b ? MathMode::TF32 : MathMode::FP32);
    NetworkOptions o;
    o.max_batch = 1;
    VggNetwork net(ctx, w, o);
    logits[b] = net.forward(Tensor::from_host(backend, {1, 3, 64, 64}, x)).to_host();
  }
  double lmax = 0;
  for (float v : logits[0]) lmax = std::max(lmax, static_cast<double>(std::fabs(v)));
  CHECK_CLOSE("tf32 logits", logits[1], logits[0], 2e-2 * lmax, 2e-2);
}

namespace {
// forward() logits for each way of running the feature layers, on one backend and math mode.
struct ForwardVariant {
  const char* name;
  bool fuse;
  ForwardLayout layout;
};
const ForwardVariant kForwardVariants[] = {{"layer by layer", false, ForwardLayout::Auto},
                                           {"fused nchw", true, ForwardLayout::NCHW},
                                           {"fused nhwc", true, ForwardLayout::NHWC}};

std::vector<float> forward_logits(Backend backend, MathMode math, const ModelWeights& w,
                                  const ForwardVariant& v, const std::vector<float>& x, int n,
                                  int size) {
  Context ctx(backend, math);
  NetworkOptions o = batches(n, 0, v.layout);
  o.fuse_inference = v.fuse;
  VggNetwork net(ctx, w, o);
  CHECK(net.inference_fused() == v.fuse);
  if (v.fuse)
    CHECK(net.inference_layout() ==
          (v.layout == ForwardLayout::NHWC ? Layout::NHWC : Layout::NCHW));
  // No backward: the fused layers keep only their fused weights; unfused ones keep theirs.
  for (const NetworkLayer& l : net.layers())
    if (l.kind == LayerKind::Conv || l.kind == LayerKind::BatchNorm)
      CHECK(l.weight.defined() == !v.fuse);
  return net.forward(Tensor::from_host(backend, {n, 3, size, size}, x)).to_host();
}

}  // namespace

TEST_CASE("network/forward's fused steps (BatchNorm folded, NCHW or NHWC) match layer by layer") {
  for (bool bn : {false, true}) {
    CAPTURE(bn);
    const ModelWeights w = random_vgg_weights(16, bn, 10, 21, 8, 64, 64);
    const std::vector<float> x = seeded_input(2, 64, 64, 22);
    const std::vector<float> expected =
        forward_logits(Backend::CPU, MathMode::FP32, w, kForwardVariants[0], x, 2, 64);
    for (const ForwardVariant& v : kForwardVariants) {
      CAPTURE(v.name);
      CHECK_CLOSE(v.name, forward_logits(Backend::CPU, MathMode::FP32, w, v, x, 2, 64), expected,
                  1e-5 * test::max_abs(expected), 1e-5);
    }
  }
  // Auto is NCHW on the CPU (NHWC is only chosen for CUDA in tf32).
  Context ctx(Backend::CPU);
  VggNetwork net(ctx, random_vgg_weights(11, false, 10, 1, 32, 16, 32), NetworkOptions{});
  CHECK(net.inference_fused());
  CHECK(net.inference_layout() == Layout::NCHW);
}

TEST_CASE("cuda/whole network forward in every layout matches the CPU" * UC_NEEDS_GPU) {
  for (bool bn : {false, true}) {
    CAPTURE(bn);
    const ModelWeights w = random_vgg_weights(16, bn, 10, 23, 8, 64, 64);
    const std::vector<float> x = seeded_input(3, 64, 64, 24);
    const std::vector<float> expected =
        forward_logits(Backend::CPU, MathMode::FP32, w, kForwardVariants[0], x, 3, 64);
    const double scale = test::max_abs(expected);
    for (const ForwardVariant& v : kForwardVariants) {
      CAPTURE(v.name);
      CHECK_CLOSE(std::string("fp32 ") + v.name,
                  forward_logits(Backend::CUDA, MathMode::FP32, w, v, x, 3, 64), expected,
                  1e-4 * scale, 1e-4);
      CHECK_CLOSE(std::string("tf32 ") + v.name,
                  forward_logits(Backend::CUDA, MathMode::TF32, w, v, x, 3, 64), expected,
                  1e-2 * scale, 1e-2);
    }
  }
  // Auto: NHWC for tf32, NCHW for fp32.
  const ModelWeights w = random_vgg_weights(11, false, 10, 1, 32, 16, 32);
  for (MathMode math : {MathMode::FP32, MathMode::TF32}) {
    Context ctx(Backend::CUDA, math);
    VggNetwork net(ctx, w, NetworkOptions{});
    CHECK(net.inference_layout() == (math == MathMode::TF32 ? Layout::NHWC : Layout::NCHW));
  }
}

TEST_CASE("network/forward with marks: same logits, every part named once, in order") {
  const ModelWeights w = random_vgg_weights(11, true, 10, 5, 16, 32, 32);
  const Tensor x = Tensor::from_host(Backend::CPU, {2, 3, 32, 32}, seeded_input(2, 32, 32, 6));
  for (ForwardLayout layout : {ForwardLayout::NCHW, ForwardLayout::NHWC}) {
    Context ctx(Backend::CPU);
    VggNetwork net(ctx, w, batches(2, 0, layout));
    const std::vector<float> plain = net.forward(x).to_host();
    std::vector<std::string> parts;
    const std::vector<float> marked =
        net.forward(x, [&](const std::string& p) { parts.push_back(p); }).to_host();
    CHECK_CLOSE("logits with marks", marked, plain, 0.0, 0.0);
    // VGG11-BN: 8 fused convolutions and 5 pools, the conversions (NHWC), avgpool, 5 classifier
    // layers (dropouts are skipped: identity at inference).
    const size_t conversions = layout == ForwardLayout::NHWC ? 2 : 0;
    REQUIRE(parts.size() == 13 + conversions + 1 + 5);
    CHECK(parts[conversions ? 1 : 0] == "features.0-2 conv");
    CHECK(parts[conversions ? 4 : 3] == "features.7 pool");
    if (conversions) CHECK((parts.front() == "to nhwc" && parts[14] == "to nchw"));
    CHECK(parts.back() == "classifier.6");
  }
}

TEST_CASE(
    "network/forward_keep from the target layer runs the layers before it fused, same results") {
  for (bool bn : {false, true}) {
    CAPTURE(bn);
    const ModelWeights w = random_vgg_weights(16, bn, 10, 31, 8, 64, 64);
    const Tensor x = Tensor::from_host(Backend::CPU, {2, 3, 64, 64}, seeded_input(2, 64, 64, 32));
    for (ForwardLayout layout : {ForwardLayout::NCHW, ForwardLayout::NHWC}) {
      Context ctx(Backend::CPU);
      VggNetwork net(ctx, w, batches(2, 2, layout));
      const std::string target = net.last_conv_relu();
      const std::vector<float> logits = net.forward_keep(x).to_host();
      const std::vector<float> act = net.activation(target).to_host();
      const std::vector<float> grad =
          net.backward(one_hot(Backend::CPU, 2, 10, {3, 8}), target).to_host();
      const std::vector<float> logits_from = net.forward_keep(x, target).to_host();
      CHECK_CLOSE("logits", logits_from, logits, 1e-5 * test::max_abs(logits), 1e-5);
      CHECK_CLOSE("activation", net.activation(target).to_host(), act, 1e-5 * test::max_abs(act),
                  1e-5);
      CHECK_CLOSE("gradient", net.backward(one_hot(Backend::CPU, 2, 10, {3, 8}), target).to_host(),
                  grad, 1e-5 * test::max_abs(grad), 1e-5);
      // The fused layers kept nothing: asking below the target is a caller bug.
      CHECK_THROWS_AS(net.activation("features.0"), Error);
      CHECK_THROWS_AS(net.backward(one_hot(Backend::CPU, 2, 10, {3, 8}), "input"), Error);
      // A layer that no step ends at (a convolution inside a step, a BatchNorm) still works.
      const std::string conv = "features.3";
      net.forward_keep(x, conv);
      CHECK(net.activation(conv).numel() > 0);
      CHECK(net.backward(one_hot(Backend::CPU, 2, 10, {3, 8}), conv).numel() > 0);
    }
  }
}
