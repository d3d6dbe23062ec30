// MathMode::BF16: the BF16 tensor type and its rounding rule (host, the reference for the CUDA
// kernels), the NCHW float <-> NHWC bf16 conversions on the CPU, and on CUDA (skipped without a
// GPU) every bf16 step against the CPU in fp32 and the whole network's forward.
#include <cmath>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "layers/layers.h"
#include "runtime/network.h"
#include "tests/check.h"
#include "weights/random_vgg.h"

using namespace uc;

namespace {
uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}
float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
// What values become when stored as bf16.
float bf16_round(float v) { return from_bf16(to_bf16(v)); }
std::vector<float> bf16_rounded(std::vector<float> v) {
  for (float& x : v) x = bf16_round(x);
  return v;
}
Tensor bf16_tensor(Backend backend, const Shape& shape, const std::vector<float>& values) {
  return Tensor::from_host(backend, shape, values, DType::BF16);
}

}  // namespace

TEST_CASE("bf16/rounding is to nearest, ties to even, as __float2bfloat16_rn") {
  CHECK(bf16_round(1.f) == 1.f);
  CHECK(bf16_round(-2.5f) == -2.5f);
  const float ulp = 1.f / 128;                            // bf16 keeps 7 fraction bits: 1 + k/128
  CHECK(bf16_round(1.f + ulp / 2) == 1.f);                // tie, 1.0 is even
  CHECK(bf16_round(1.f + 3 * ulp / 2) == 1.f + 2 * ulp);  // tie, 1 + 2/128 is even
  CHECK(bf16_round(1.f + ulp / 2 + 1e-6f) == 1.f + ulp);  // past the tie
  CHECK(bf16_round(1.f + ulp / 2 - 1e-6f) == 1.f);
  // Rounds up past the largest bf16
  CHECK(bf16_round(std::numeric_limits<float>::max()) == INFINITY);
  CHECK(bf16_round(-INFINITY) == -INFINITY);
  CHECK(std::isnan(bf16_round(NAN)));
  CHECK(std::isnan(bf16_round(from_bits(0x7f800001u))));  // a NaN whose payload would round to inf
  CHECK(bits(bf16_round(-0.f)) == 0x80000000u);
  // Subnormals keep their top bits
  CHECK(bf16_round(1e-40f) == from_bits(bits(1e-40f) & 0xffff0000u));
  // Every bf16 value survives a round trip; others move by at most half an ulp, 2^-8 relative.
  const std::vector<float> v = test::random_vector(1001, 7, -100.f, 100.f);
  const Tensor stored = bf16_tensor(Backend::CPU, {1001}, v);
  CHECK(stored.dtype() == DType::BF16);
  CHECK(stored.nbytes() == 2002);  // two bytes a value
  CHECK(allocated_bytes(Backend::CPU) >= 2002);
  CHECK(stored.bf16_data()[3] == to_bf16(v[3]));
  CHECK_THROWS_AS(stored.data(), Error);  // typed access is checked
  const std::vector<float> back = stored.to_host();
  for (size_t i = 0; i < v.size(); ++i) {
    CHECK(std::fabs(back[i] - v[i]) <= std::ldexp(std::fabs(v[i]), -8));
    CHECK(bf16_round(back[i]) == back[i]);
  }
}

TEST_CASE("bf16/NCHW float <-> NHWC bf16 conversions on the CPU") {
  Context ctx(Backend::CPU);
  const int n = 2, c = 5, h = 3, w = 7;
  const std::vector<float> x = test::random_vector(size_t(n) * c * h * w, 11, -3.f, 3.f);
  const Tensor in = Tensor::from_host(Backend::CPU, {n, c, h, w}, x);
  Tensor packed = Tensor::empty(Backend::CPU, {n, h, w, c}, DType::BF16);
  convert_to_bf16_nhwc(ctx, packed, in, n, c, h, w);
  const std::vector<float> nhwc = packed.to_host();
  for (int img = 0; img < n; ++img)
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < h * w; ++p)
        CHECK(nhwc[size_t((img * h * w + p) * c + ch)] ==
              bf16_round(x[size_t((img * c + ch) * h * w + p)]));
  Tensor back = Tensor::empty(Backend::CPU, {n, c, h, w});
  convert_from_bf16_nhwc(ctx, back, packed, n, c, h, w);
  const std::vector<float> b = back.to_host();
  for (size_t i = 0; i < x.size(); ++i) CHECK(b[i] == bf16_round(x[i]));
  // A float tensor where a bf16 one belongs is a caller bug, named as such.
  CHECK_THROWS_WITH_AS(convert_to_bf16_nhwc(ctx, back, in, n, c, h, w),
                       doctest::Contains("f32 but"), Error);
}

TEST_CASE("bf16/the precision name parses; the CPU computes it in fp32") {
  CHECK(parse_math_mode("bf16") == MathMode::BF16);
  CHECK(std::string(math_mode_name(MathMode::BF16)) == "bf16");
  CHECK_THROWS_WITH_AS(parse_math_mode("fp16"), doctest::Contains("fp32, tf32 or bf16"), Error);
  const ModelWeights w = random_vgg_weights(11, true, 10, 3, 16, 32, 32);
  const std::vector<float> x = test::random_vector(size_t(2) * 3 * 32 * 32, 4, -2.f, 2.f);
  std::vector<float> logits[2];
  for (MathMode math : {MathMode::FP32, MathMode::BF16}) {
    Context ctx(Backend::CPU, math);
    NetworkOptions o;
    o.max_batch = 2;
    VggNetwork net(ctx, w, o);
    CHECK_FALSE(net.inference_bf16());
    logits[math == MathMode::BF16] =
        net.forward(Tensor::from_host(Backend::CPU, {2, 3, 32, 32}, x)).to_host();
  }
  CHECK_CLOSE("cpu bf16 = fp32", logits[1], logits[0], 0.0, 0.0);
}

// The CPU reference of the bf16 path (what the CUDA tests compare with): each fused step reads
// bf16, computes in fp32 and rounds its output once; pooling picks one of its bf16 inputs.
TEST_CASE("bf16/the CPU reference of the bf16 layers rounds each output once") {
  Context ctx(Backend::CPU);
  ConvShape s{2, 3, 5, 5, 3, 3, 3, 1, 1};  // odd element counts: 75 per image
  s.layout = Layout::NHWC;
  const int64_t xn = 150, wn = 81, yn = 150;
  const std::vector<float> x = bf16_rounded(test::random_vector(xn, 51));
  const std::vector<float> w = bf16_rounded(test::random_vector(wn, 52));
  const Tensor b = test::random_cpu({3}, 53);
  Tensor y = Tensor::empty(Backend::CPU, {yn});
  conv2d_bias_relu_forward(ctx, y, Tensor::from_host(Backend::CPU, {xn}, x),
                           Tensor::from_host(Backend::CPU, {wn}, w), b, s);
  Tensor yb = Tensor::empty(Backend::CPU, {yn}, DType::BF16);
  conv2d_bias_relu_forward(ctx, yb, bf16_tensor(Backend::CPU, {xn}, x),
                           bf16_tensor(Backend::CPU, {wn}, w), b, s);
  const std::vector<float> got = yb.to_host(), full = y.to_host();
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == bf16_round(full[i]));
  PoolShape p{1, 3, 6, 6, 2, 2};
  p.layout = Layout::NHWC;
  Tensor pooled = Tensor::empty(Backend::CPU, {27}, DType::BF16);
  maxpool2d_forward(
      ctx, pooled, bf16_tensor(Backend::CPU, {108}, std::vector<float>(x.begin(), x.begin() + 108)),
      p);
  const std::vector<float> pv = pooled.to_host();
  for (int i = 0; i < 27; ++i) {  // channel-fastest windows of 2x2 over a 6x6x3 map
    const int ch = i % 3, px = i / 3, oy = px / 3, ox = px % 3;
    float best = -INFINITY;
    for (int dy = 0; dy < 2; ++dy)
      for (int dx = 0; dx < 2; ++dx)
        best = std::max(best, x[size_t(((2 * oy + dy) * 6 + 2 * ox + dx) * 3 + ch)]);
    CHECK(pv[size_t(i)] == best);
  }
}

// The whole bf16 network path on the CPU reference: bf16 filters, the steps' buffers, the
// conversions at both ends, forward_keep's fused prefix and the classifier after it.
TEST_CASE("bf16/the network's bf16 steps on the CPU reference stay within 5e-2 of fp32") {
  for (bool bn : {false, true}) {
    CAPTURE(bn);
    const ModelWeights w = random_vgg_weights(16, bn, 10, 61, 8, 64, 64);
    const std::vector<float> x = test::random_vector(size_t(3) * 3 * 64 * 64, 62, -2.f, 2.f);
    std::vector<float> logits[2], kept[2];
    size_t planned[2];
    for (int b = 0; b < 2; ++b) {
      Context ctx(Backend::CPU, b ? MathMode::BF16 : MathMode::FP32);
      NetworkOptions o;
      o.max_batch = 3;
      o.max_grad_batch = 1;
      o.bf16_reference = true;
      VggNetwork net(ctx, w, o);
      CHECK(net.inference_bf16() == (b == 1));
      planned[b] = net.planned_bytes();
      const Tensor input = Tensor::from_host(Backend::CPU, {3, 3, 64, 64}, x);
      logits[b] = net.forward(input).to_host();
      const std::string target = net.last_conv_relu();
      kept[b] = net.forward_keep(input.view(0, {1, 3, 64, 64}), target).to_host();
      std::vector<float> seed(10, 0.f);
      seed[2] = 1.f;
      CHECK(net.backward(Tensor::from_host(Backend::CPU, {1, 10}, seed), target).numel() > 0);
    }
    CHECK_CLOSE("bf16 reference logits", logits[1], logits[0], 5e-2 * test::max_abs(logits[0]),
                5e-2);
    CHECK_CLOSE("bf16 reference, forward_keep", kept[1],
                std::vector<float>(logits[0].begin(), logits[0].begin() + 10),
                5e-2 * test::max_abs(logits[0]), 5e-2);
    CHECK(logits[1] != logits[0]);  // it really rounded
    // The inference buffers hold bf16 maps, in half the bytes (views are bounds-checked, so the
    // forwards above proved them large enough), and the bf16 filters are half as large.
    CHECK(planned[1] < planned[0]);
  }
}

TEST_CASE("bf16/the network rounds the convolutions' biases to bf16 once, at load") {
  // cuDNN's bf16 fused call may take the bias only in bf16, so the plan rounds it for every
  // backend: weights whose conv biases are already bf16 values give bit-identical logits.
  ModelWeights w = random_vgg_weights(11, false, 10, 71, 8, 32, 32);
  ModelWeights rounded = w;
  int changed = 0;
  for (auto& [name, array] : w.tensors) {  // torchvision starts conv biases at 0: make them not
    if (name.rfind("features.", 0) != 0 || name.find(".bias") == std::string::npos) continue;
    array.data = test::random_vector(array.data.size(), 73 + changed, -0.3f, 0.3f);
    rounded.tensors[name].data = bf16_rounded(array.data);
    changed += rounded.tensors[name].data != array.data;
  }
  REQUIRE(changed > 0);
  const Tensor input = Tensor::from_host(
      Backend::CPU, {2, 3, 32, 32}, test::random_vector(size_t(2) * 3 * 32 * 32, 72, -2.f, 2.f));
  std::vector<float> logits[2];
  for (int i = 0; i < 2; ++i) {
    Context ctx(Backend::CPU, MathMode::BF16);
    NetworkOptions o;
    o.max_batch = 2;
    o.bf16_reference = true;
    VggNetwork net(ctx, i ? rounded : w, o);
    logits[i] = net.forward(input).to_host();
  }
  CHECK_CLOSE("logits, raw against pre-rounded biases", logits[0], logits[1], 0.0, 0.0);
}

// Hand-written kernels only (no cuDNN), so that cuda-on-cpu runs this case too.
TEST_CASE("cuda/bf16 conversions and pooling match the CPU" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::BF16);
  // Conversions round the same way (exact), and back.
  {
    const int n = 3, c = 5, h = 9, w = 11;
    const Tensor x = test::random_cpu({n, c, h, w}, 21);
    Tensor packed = Tensor::empty(Backend::CPU, {n, h, w, c}, DType::BF16);
    Tensor gpacked = Tensor::empty(Backend::CUDA, packed.shape(), DType::BF16);
    convert_to_bf16_nhwc(cpu, packed, x, n, c, h, w);
    convert_to_bf16_nhwc(gpu, gpacked, test::to_cuda(x), n, c, h, w);
    CHECK_CLOSE("to bf16 nhwc", gpacked.to_host(), packed.to_host(), 0.0, 0.0);
    Tensor back = Tensor::empty(Backend::CPU, x.shape()),
           gback = Tensor::empty(Backend::CUDA, x.shape());
    convert_from_bf16_nhwc(cpu, back, packed, n, c, h, w);
    convert_from_bf16_nhwc(gpu, gback, gpacked, n, c, h, w);
    CHECK_CLOSE("from bf16 nhwc", gback.to_host(), back.to_host(), 0.0, 0.0);
  }
  // Max-pool picks one of its inputs: exact against the CPU's NHWC pool of the same values.
  for (PoolShape s : {PoolShape{2, 16, 14, 14, 2, 2}, PoolShape{1, 3, 7, 9, 3, 2}}) {
    s.layout = Layout::NHWC;
    const int64_t in_count = int64_t(s.n) * s.c * s.h * s.w,
                  out_count = int64_t(s.n) * s.c * s.out_h() * s.out_w();
    const std::vector<float> v = bf16_rounded(test::random_vector(size_t(in_count), 22));
    Tensor out = Tensor::empty(Backend::CPU, {out_count});
    maxpool2d_forward(cpu, out, Tensor::from_host(Backend::CPU, {in_count}, v), s);
    Tensor gout = Tensor::empty(Backend::CUDA, {out_count}, DType::BF16);
    maxpool2d_forward(gpu, gout, bf16_tensor(Backend::CUDA, {in_count}, v), s);
    CHECK_CLOSE("maxpool bf16", gout.to_host(), out.to_host(), 0.0, 0.0);
  }
}

TEST_CASE("cuda/bf16 fused convolutions match the CPU" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA, MathMode::BF16);
  // Convolution + bias + ReLU on bf16-rounded data: the CPU computes the same products in fp32,
  // cuDNN accumulates in fp32 and rounds the output once (or twice in the unfused fallback).
  for (ConvShape s : {ConvShape{2, 64, 28, 28, 128, 3, 3, 1, 1},
                      ConvShape{2, 3, 32, 32, 16, 3, 3, 1, 1}, ConvShape{1, 8, 7, 7, 8, 3, 3, 1, 1},
                      ConvShape{1, 3, 5, 5, 3, 3, 3, 1, 1}}) {  // the last: odd counts
    s.layout = Layout::NHWC;
    INFO("c=", s.c, " k=", s.k, " ", s.h, "x", s.w);
    const int64_t xn = int64_t(s.n) * s.h * s.w * s.c, wn = int64_t(s.k) * s.r * s.s * s.c;
    const int64_t yn = int64_t(s.n) * s.out_h() * s.out_w() * s.k;
    const std::vector<float> x = bf16_rounded(test::random_vector(size_t(xn), 23)),
                             w = bf16_rounded(test::random_vector(size_t(wn), 24)),
                             b = bf16_rounded(test::random_vector(size_t(s.k), 25));
    Tensor out = Tensor::empty(Backend::CPU, {yn});
    conv2d_bias_relu_forward(cpu, out, Tensor::from_host(Backend::CPU, {xn}, x),
                             Tensor::from_host(Backend::CPU, {wn}, w),
                             Tensor::from_host(Backend::CPU, {s.k}, b), s);
    Tensor gout = Tensor::empty(Backend::CUDA, {yn}, DType::BF16);
    conv2d_bias_relu_forward(gpu, gout, bf16_tensor(Backend::CUDA, {xn}, x),
                             bf16_tensor(Backend::CUDA, {wn}, w),
                             Tensor::from_host(Backend::CUDA, {s.k}, b), s);
    const std::vector<float> expected = out.to_host();
    CHECK_CLOSE("fused conv bf16", gout.to_host(), expected, 1e-2 * test::max_abs(expected), 1e-2);
  }
}

TEST_CASE("cuda/whole network in bf16 stays within 5e-2 of the CPU" * UC_NEEDS_GPU) {
  for (bool bn : {false, true}) {
    CAPTURE(bn);
    const ModelWeights w = random_vgg_weights(16, bn, 10, 41, 8, 64, 64);
    const std::vector<float> x = test::random_vector(size_t(3) * 3 * 64 * 64, 42, -2.f, 2.f);
    std::vector<float> logits[2], grads[2];
    for (int g = 0; g < 2; ++g) {
      const Backend backend = g ? Backend::CUDA : Backend::CPU;
      Context ctx(backend, g ? MathMode::BF16 : MathMode::FP32);
      NetworkOptions o;
      o.max_batch = 3;
      o.max_grad_batch = 1;
      VggNetwork net(ctx, w, o);
      CHECK(net.inference_bf16() == (g == 1));
      if (g) CHECK(net.inference_layout() == Layout::NHWC);
      const Tensor input = Tensor::from_host(backend, {3, 3, 64, 64}, x);
      logits[g] = net.forward(input).to_host();
      // An explanation's pass: bf16 steps up to the target layer, fp32/tf32 from there on.
      const std::string target = net.last_conv_relu();
      net.forward_keep(input.view(0, {1, 3, 64, 64}), target);
      std::vector<float> seed(10, 0.f);
      seed[3] = 1.f;
      // Per-channel sums (Grad-CAM's weights): bf16 rounding may move a max-pool's winner within
      // its window, which moves a gradient value between cells but not between channels.
      const Tensor grad = net.backward(Tensor::from_host(backend, {1, 10}, seed), target);
      const std::vector<float> gv = grad.to_host();
      const size_t channels = size_t(grad.dim(1)), plane = gv.size() / channels;
      grads[g].assign(channels, 0.f);
      for (size_t i = 0; i < gv.size(); ++i) grads[g][i / plane] += gv[i];
    }
    CHECK_CLOSE("bf16 logits", logits[1], logits[0], 5e-2 * test::max_abs(logits[0]), 5e-2);
    {  // against the CPU reference of the same bf16 path: only the summation order differs
      Context ctx(Backend::CPU, MathMode::BF16);
      NetworkOptions o;
      o.max_batch = 3;
      o.bf16_reference = true;
      VggNetwork ref(ctx, w, o);
      const std::vector<float> expected =
          ref.forward(Tensor::from_host(Backend::CPU, {3, 3, 64, 64}, x)).to_host();
      CHECK_CLOSE("bf16 logits against the CPU's bf16", logits[1], expected,
                  3e-2 * test::max_abs(expected), 3e-2);
    }
    CHECK_CLOSE("bf16 channel gradients at the target", grads[1], grads[0],
                5e-2 * test::max_abs(grads[0]), 5e-2);
  }
  // An explicit NCHW layout keeps the steps in float (bf16 storage needs NHWC).
  Context ctx(Backend::CUDA, MathMode::BF16);
  NetworkOptions o;
  o.layout = ForwardLayout::NCHW;
  VggNetwork net(ctx, random_vgg_weights(11, false, 10, 1, 32, 16, 32), o);
  CHECK_FALSE(net.inference_bf16());
}
