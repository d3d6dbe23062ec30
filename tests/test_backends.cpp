// Every operation of layers/ and cam/ on the CPU and on CUDA, from one table of op cases, compared
// by one loop (ggml's test-backend-ops). Skipped where no GPU is usable.
//
// To add an op, add one OpCase to kernel_cases() (hand-written kernels) or library_cases()
// (cuDNN/cuBLAS): a name, the math mode, a tolerance with its reason, and `run`, which builds its
// inputs from fixed seeds, calls the op on the backend it is given and returns the named outputs.
// The loop runs each case on both backends and compares every output. The two lists are two test
// cases so that cuda-on-cpu, which cannot run cuDNN or cuBLAS, still runs every kernel case.
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cam/ops.h"
#include "layers/layers.h"
#include "tests/check.h"

namespace {

using uc::Backend;
using uc::Context;
using uc::MathMode;
using uc::Shape;
using uc::Tensor;
using uc::test::random_cpu;

// |cuda - cpu| <= atol_scale * max|cpu| + rtol * |cpu|: atol is relative to the largest expected
// magnitude, so sums that cancel to near zero are judged against the size of their terms.
struct Tolerance {
  double rtol, atol_scale;
  const char* why;
};
const Tolerance kExact{0, 0, "selects, copies or compares values: nothing is rounded"};
const Tolerance kLayerSums{1e-4, 1e-4, "float sums in another order (cuDNN's algorithms, cuBLAS)"};
const Tolerance kTf32{1e-2, 1e-2, "TF32 tensor cores keep 10 bits of each product's inputs"};
const Tolerance kCamSums{1e-4, 1e-5, "float block sums against the CPU's sums in another order"};
const Tolerance kCancelling{1e-4, 1e-6, "float block sums of small terms of both signs"};
const Tolerance kResample{1e-5, 1e-6, "nvcc may contract the tap weights' index arithmetic"};
const Tolerance kNormalize{1e-6, 1e-7, "one division per value; min and max are exact"};
const Tolerance kBlend{1e-6, 1e-6, "m x + (1 - m) s: nvcc may contract it into an FMA"};
const Tolerance kBlur{1e-5, 1e-5, "up to 51 taps summed in float; nvcc may contract"};
const Tolerance kSoftmax{1e-5, 1e-7, "the CUDA softmax sums in float, the CPU's in double"};

using Outputs = std::vector<std::pair<std::string, Tensor>>;

struct OpCase {
  std::string name;
  MathMode math;
  Tolerance tolerance;
  std::function<Outputs(Context&)> run;
};

// The same host values on ctx's backend, in a tensor of its own (ops may write in place).
Tensor on(const Context& ctx, const Tensor& host) {
  return Tensor::from_host(ctx.backend(), host.shape(), host.to_host());
}
Tensor zeros(const Context& ctx, const Shape& shape) { return Tensor::zeros(ctx.backend(), shape); }

// Values on a coarse grid in [-1, 1], so many are equal (and some are -0.0 next to +0.0).
Tensor quantised_cpu(const Shape& shape, uint32_t seed, int levels) {
  std::vector<float> v = uc::test::random_vector(size_t(uc::shape_numel(shape)), seed);
  for (float& x : v) x = std::round(x * levels) / levels;
  for (size_t i = 0; i < v.size(); i += 7)
    if (v[i] == 0.f) v[i] = -0.f;
  return Tensor::from_host(Backend::CPU, shape, v);
}

std::string str(const uc::ConvShape& s) {
  return "n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) + " " + std::to_string(s.h) +
         "x" + std::to_string(s.w) + " k=" + std::to_string(s.k) + " kernel " +
         std::to_string(s.r) + "x" + std::to_string(s.s) + " stride " + std::to_string(s.stride) +
         " pad " + std::to_string(s.pad) + " " + uc::layout_name(s.layout);
}
std::string str(const uc::PoolShape& s) {
  return std::to_string(s.n) + "x" + std::to_string(s.c) + "x" + std::to_string(s.h) + "x" +
         std::to_string(s.w) + " window " + std::to_string(s.window) + " stride " +
         std::to_string(s.stride) + " " + uc::layout_name(s.layout);
}

// ---- cuDNN and cuBLAS ------------------------------------------------------------------------

// Forward, then `passes` backward calls whose parameter gradients start from random values, so
// accumulation (+=) and the cached algorithms of later calls are both covered.
OpCase conv_case(const uc::ConvShape& s, MathMode math, int passes = 1) {
  return {"conv2d " + str(s) + " passes " + std::to_string(passes), math,
          math == MathMode::TF32 ? kTf32 : kLayerSums, [=](Context& ctx) {
            const Shape in{s.n, s.c, s.h, s.w}, w{s.k, s.c, s.r, s.s},
                out{s.n, s.k, s.out_h(), s.out_w()};
            const Tensor x = on(ctx, random_cpu(in, 1)), wt = on(ctx, random_cpu(w, 2)),
                         b = on(ctx, random_cpu({s.k}, 3)), dout = on(ctx, random_cpu(out, 4));
            Tensor y = zeros(ctx, out), din = zeros(ctx, in);
            Tensor dw = on(ctx, random_cpu(w, 5)), db = on(ctx, random_cpu({s.k}, 6));
            uc::conv2d_forward(ctx, y, x, wt, b, s);
            for (int pass = 0; pass < passes; ++pass)
              uc::conv2d_backward(ctx, &din, &dw, &db, dout, x, wt, s);
            return Outputs{
                {"forward", y}, {"din", din}, {"dw (accumulated)", dw}, {"db (accumulated)", db}};
          }};
}

OpCase linear_case(const uc::LinearShape& s, MathMode math) {
  return {"linear n=" + std::to_string(s.n) + " " + std::to_string(s.in_features) + " -> " +
              std::to_string(s.out_features),
          math, math == MathMode::TF32 ? kTf32 : kLayerSums, [=](Context& ctx) {
            const Shape in{s.n, s.in_features}, w{s.out_features, s.in_features},
                out{s.n, s.out_features};
            const Tensor x = on(ctx, random_cpu(in, 11)), wt = on(ctx, random_cpu(w, 12)),
                         b = on(ctx, random_cpu({s.out_features}, 13)),
                         dout = on(ctx, random_cpu(out, 14));
            Tensor y = zeros(ctx, out), din = zeros(ctx, in);
            Tensor dw = on(ctx, random_cpu(w, 15)), db = on(ctx, random_cpu({s.out_features}, 16));
            uc::linear_forward(ctx, y, x, wt, b, s);
            for (int pass = 0; pass < 2; ++pass)
              uc::linear_backward(ctx, &din, &dw, &db, dout, x, wt, s);
            return Outputs{{"forward", y},
                           {"din", din},
                           {"dw (accumulated twice)", dw},
                           {"db (accumulated twice)", db}};
          }};
}

OpCase fused_conv_case(uc::ConvShape s, uc::Layout layout, MathMode math) {
  s.layout = layout;
  return {"conv2d_bias_relu_forward " + str(s), math, math == MathMode::TF32 ? kTf32 : kLayerSums,
          [=](Context& ctx) {
            // Element counts are the same in both layouts; the data is random either way.
            Tensor y = zeros(ctx, {s.n, s.k, s.out_h(), s.out_w()});
            uc::conv2d_bias_relu_forward(ctx, y, on(ctx, random_cpu({s.n, s.c, s.h, s.w}, 131)),
                                         on(ctx, random_cpu({s.k, s.c, s.r, s.s}, 132)),
                                         on(ctx, random_cpu({s.k}, 133)), s);
            return Outputs{{"out", y}};
          }};
}

std::vector<OpCase> library_cases() {
  std::vector<OpCase> cases;
  const uc::ConvShape vgg{2, 64, 56, 56, 128, 3, 3, 1, 1};
  const std::vector<uc::ConvShape> odd = {
      {3, 5, 13, 17, 7, 3, 3, 2, 0},   // stride 2, no padding, non-square input
      {2, 3, 32, 32, 16, 3, 3, 1, 1},  // a first VGG layer: three input channels
      {1, 8, 9, 6, 4, 3, 5, 1, 1},     // non-square kernel
      {2, 16, 7, 7, 32, 1, 1, 1, 0},   // 1x1
      {1, 4, 10, 11, 6, 3, 3, 2, 1},   // stride 2 with padding, odd width
  };
  for (MathMode math : {MathMode::FP32, MathMode::TF32}) {
    cases.push_back(conv_case(vgg, math));
    for (const auto& s : odd) cases.push_back(conv_case(s, math));
  }
  cases.push_back(conv_case({2, 32, 14, 14, 64, 3, 3, 1, 1}, MathMode::FP32, 3));
  cases.push_back(conv_case({3, 5, 13, 17, 7, 3, 3, 2, 0}, MathMode::FP32, 2));
  cases.push_back({"conv2d computes only the requested gradients", MathMode::FP32, kLayerSums,
                   [](Context& ctx) {
                     const uc::ConvShape s{2, 8, 12, 10, 16, 3, 3, 1, 1};
                     const Tensor x = on(ctx, random_cpu({s.n, s.c, s.h, s.w}, 41)),
                                  w = on(ctx, random_cpu({s.k, s.c, s.r, s.s}, 42)),
                                  dout = on(ctx, random_cpu({s.n, s.k, s.out_h(), s.out_w()}, 43));
                     Tensor din = zeros(ctx, x.shape()), db = zeros(ctx, {s.k});
                     uc::conv2d_backward(ctx, &din, nullptr, nullptr, dout, x, w, s);
                     uc::conv2d_backward(ctx, nullptr, nullptr, &db, dout, x, w, s);
                     return Outputs{{"din only", din}, {"db only", db}};
                   }});
  // One context for several batch sizes: the later ones reuse the first one's algorithms.
  for (MathMode math : {MathMode::FP32, MathMode::TF32})
    cases.push_back({"conv2d at new batch sizes", math, math == MathMode::TF32 ? kTf32 : kLayerSums,
                     [](Context& ctx) {
                       Outputs outputs;
                       for (int n : {4, 3, 1}) {
                         const uc::ConvShape s{n, 32, 20, 20, 48, 3, 3, 1, 1};
                         const Shape out{s.n, s.k, s.out_h(), s.out_w()};
                         const Tensor x = on(ctx, random_cpu({s.n, s.c, s.h, s.w}, 141)),
                                      w = on(ctx, random_cpu({s.k, s.c, s.r, s.s}, 142)),
                                      dout = on(ctx, random_cpu(out, 144));
                         Tensor y = zeros(ctx, out), din = zeros(ctx, x.shape()),
                                dw = zeros(ctx, w.shape());
                         uc::conv2d_forward(ctx, y, x, w, on(ctx, random_cpu({s.k}, 143)), s);
                         uc::conv2d_backward(ctx, &din, &dw, nullptr, dout, x, w, s);
                         const std::string at = "n=" + std::to_string(n) + " ";
                         outputs.insert(outputs.end(),
                                        {{at + "forward", y}, {at + "din", din}, {at + "dw", dw}});
                       }
                       return outputs;
                     }});
  for (MathMode math : {MathMode::FP32, MathMode::TF32})
    for (uc::Layout layout : {uc::Layout::NCHW, uc::Layout::NHWC})
      for (const uc::ConvShape& s : {uc::ConvShape{2, 64, 28, 28, 128, 3, 3, 1, 1},
                                     uc::ConvShape{2, 3, 32, 32, 16, 3, 3, 1, 1},
                                     uc::ConvShape{3, 5, 13, 17, 7, 3, 3, 2, 0}})
        cases.push_back(fused_conv_case(s, layout, math));
  cases.push_back(linear_case({3, 37, 5}, MathMode::FP32));
  // VGG's first classifier layer, narrowed
  cases.push_back(linear_case({2, 25088, 256}, MathMode::FP32));
  cases.push_back(linear_case({4, 4096, 1000}, MathMode::FP32));
  cases.push_back(linear_case({3, 37, 5}, MathMode::TF32));
  cases.push_back(linear_case({2, 25088, 256}, MathMode::TF32));
  return cases;
}

// ---- hand-written kernels: layers ------------------------------------------------------------

// kLayerSums: overlapping windows add their gradients in another order.
OpCase maxpool_case(const uc::PoolShape& s, const Tensor& input) {
  return {"maxpool2d " + str(s), MathMode::FP32, kLayerSums, [=](Context& ctx) {
            const Shape out{s.n, s.c, s.out_h(), s.out_w()};
            const Tensor x = on(ctx, input), dout = on(ctx, random_cpu(out, 21));
            Tensor y = zeros(ctx, out), din = zeros(ctx, x.shape()), din2 = zeros(ctx, x.shape());
            uc::maxpool2d_forward(ctx, y, x, s);
            uc::maxpool2d_backward(ctx, din, dout, x, y, s);
            // The winners come from the input alone: an `out` that is not the forward's changes
            // nothing.
            uc::maxpool2d_backward(ctx, din2, dout, x, on(ctx, random_cpu(out, 22)), s);
            return Outputs{{"forward", y}, {"din", din}, {"din (out ignored)", din2}};
          }};
}

OpCase adaptive_case(const uc::AdaptivePoolShape& s) {
  return {"adaptive_avgpool " + std::to_string(s.h) + "x" + std::to_string(s.w) + " -> " +
              std::to_string(s.out_h) + "x" + std::to_string(s.out_w),
          MathMode::FP32, kLayerSums, [=](Context& ctx) {
            const Shape in{s.n, s.c, s.h, s.w}, out{s.n, s.c, s.out_h, s.out_w};
            Tensor y = zeros(ctx, out), din = zeros(ctx, in);
            uc::adaptive_avgpool_forward(ctx, y, on(ctx, random_cpu(in, 31)), s);
            uc::adaptive_avgpool_backward(ctx, din, on(ctx, random_cpu(out, 32)), s);
            return Outputs{{"forward", y}, {"din", din}};
          }};
}

void add_layer_kernel_cases(std::vector<OpCase>& cases) {
  cases.push_back({"relu forward, backward and in place", MathMode::FP32, kExact, [](Context& ctx) {
                     const Shape shape{2, 7, 9, 11};
                     const Tensor x = on(ctx, random_cpu(shape, 51)),
                                  dout = on(ctx, random_cpu(shape, 52));
                     Tensor y = zeros(ctx, shape), din = zeros(ctx, shape);
                     uc::relu_forward(ctx, y, x);
                     uc::relu_backward(ctx, din, dout, y);
                     Tensor inplace = on(ctx, x), grad = on(ctx, dout);
                     uc::relu_forward(ctx, inplace, inplace);
                     uc::relu_backward(ctx, grad, grad, y);
                     return Outputs{{"forward", y},
                                    {"din", din},
                                    {"forward in place", inplace},
                                    {"backward in place", grad}};
                   }});
  for (const uc::PoolShape& s :
       {uc::PoolShape{2, 16, 14, 14, 2, 2},  // VGG's pool
        uc::PoolShape{1, 3, 7, 7, 2, 2},     // odd: the last row and column dropped
        uc::PoolShape{2, 4, 7, 9, 3, 2},     // overlapping windows
        uc::PoolShape{1, 2, 10, 6, 3, 3}})   // non-square, stride = kernel
    cases.push_back(maxpool_case(s, random_cpu({s.n, s.c, s.h, s.w}, 61)));
  // Three levels only, so most windows hold several equal maxima: ties go to the first.
  for (const uc::PoolShape& s :
       {uc::PoolShape{2, 4, 8, 8, 2, 2}, uc::PoolShape{1, 3, 9, 9, 3, 2}}) {
    std::vector<float> v = uc::test::random_vector(size_t(s.n * s.c * s.h * s.w), 71, 0.f, 3.f);
    for (float& e : v) e = std::floor(e) * 0.5f;
    cases.push_back(maxpool_case(s, Tensor::from_host(Backend::CPU, {s.n, s.c, s.h, s.w}, v)));
  }
  for (uc::PoolShape s : {uc::PoolShape{2, 16, 14, 14, 2, 2}, uc::PoolShape{1, 3, 7, 9, 3, 2}}) {
    s.layout = uc::Layout::NHWC;
    cases.push_back(
        {"maxpool2d forward " + str(s), MathMode::FP32, kExact, [=](Context& ctx) {
           Tensor y = zeros(ctx, {s.n, s.out_h(), s.out_w(), s.c});
           uc::maxpool2d_forward(ctx, y, on(ctx, random_cpu({s.n, s.h, s.w, s.c}, 134)), s);
           return Outputs{{"out", y}};
         }});
  }
  cases.push_back(
      {"convert_layout both ways", MathMode::FP32, kExact, [](Context& ctx) {
         const Tensor x = on(ctx, random_cpu({2, 5, 6, 7}, 135));
         Tensor nhwc = zeros(ctx, x.shape()), nchw = zeros(ctx, x.shape());
         uc::convert_layout(ctx, nhwc, uc::Layout::NHWC, x, uc::Layout::NCHW, 2, 5, 6, 7);
         uc::convert_layout(ctx, nchw, uc::Layout::NCHW, x, uc::Layout::NHWC, 2, 5, 6, 7);
         return Outputs{{"to nhwc", nhwc}, {"to nchw", nchw}};
       }});
  for (const uc::AdaptivePoolShape& s :
       {uc::AdaptivePoolShape{2, 8, 2, 2, 7, 7},  // up: shared inputs
        uc::AdaptivePoolShape{2, 8, 7, 7, 7, 7},  // identity
        uc::AdaptivePoolShape{1, 4, 14, 14, 7, 7},
        uc::AdaptivePoolShape{1, 3, 9, 5, 7, 3},    // overlapping bins
        uc::AdaptivePoolShape{1, 2, 3, 10, 7, 4}})  // up and down
    cases.push_back(adaptive_case(s));
  for (const uc::ChannelShape& s : {uc::ChannelShape{2, 16, 49}, uc::ChannelShape{3, 10, 1}})
    cases.push_back({"batchnorm n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) +
                         " hw=" + std::to_string(s.hw),
                     MathMode::FP32, kLayerSums, [=](Context& ctx) {
                       const Shape shape{s.n, s.c, s.hw};
                       const Tensor scale = on(ctx, random_cpu({s.c}, 83, 0.5f, 2.f));
                       Tensor y = zeros(ctx, shape), din = zeros(ctx, shape);
                       uc::batchnorm_forward(ctx, y, on(ctx, random_cpu(shape, 81)), scale,
                                             on(ctx, random_cpu({s.c}, 84)), s);
                       uc::batchnorm_backward(ctx, din, on(ctx, random_cpu(shape, 82)), scale, s);
                       return Outputs{{"forward", y}, {"din", din}};
                     }});
}

// ---- hand-written kernels: CAM ops -----------------------------------------------------------

struct Dims {
  int rows, cols;
};
std::string str(const char* what, Dims d) {
  return std::string(what) + " " + std::to_string(d.rows) + "x" + std::to_string(d.cols);
}

void add_cam_kernel_cases(std::vector<OpCase>& cases) {
  for (const Dims d : {Dims{512, 196}, Dims{7, 1000}, Dims{3, 1}, Dims{64, 3136}}) {
    const auto inputs = [d](Context& ctx) {
      return std::pair{on(ctx, random_cpu({d.rows, d.cols}, 1, -1e-3f, 1e-3f)),
                       on(ctx, random_cpu({d.rows, d.cols}, 2, 0.f, 4.f))};
    };
    cases.push_back({str("cam_channel_means", d), MathMode::FP32, kCamSums, [=](Context& ctx) {
                       Tensor w = zeros(ctx, {d.rows});
                       uc::cam_channel_means(ctx, w, inputs(ctx).first, d.rows, d.cols);
                       return Outputs{{"means", w}};
                     }});
    cases.push_back(
        {str("cam_gradcampp_weights", d), MathMode::FP32, kCancelling, [=](Context& ctx) {
           Tensor w = zeros(ctx, {d.rows});
           const auto [g, a] = inputs(ctx);
           uc::cam_gradcampp_weights(ctx, w, g, a, d.rows, d.cols);
           return Outputs{{"weights", w}};
         }});
  }
  // Gradients with a constant channel and an all-negative one next to random (or tied) values.
  for (const Dims d : {Dims{512, 196}, Dims{5, 1000}, Dims{16, 3136}, Dims{4, 1}, Dims{3, 2}})
    for (const bool ties : {false, true}) {
      const int K = d.rows, hw = d.cols;
      std::vector<float> g =
          (ties ? quantised_cpu({K, hw}, 3, 4) : random_cpu({K, hw}, 4)).to_host();
      std::fill(g.begin(), g.begin() + hw, 0.25f);
      if (K > 1) std::fill(g.begin() + hw, g.begin() + 2 * hw, -0.5f);
      const Tensor grads = Tensor::from_host(Backend::CPU, {K, hw}, g);
      cases.push_back({str("cam_denoised_pixel_weights", d) + (ties ? " ties" : ""), MathMode::FP32,
                       kCancelling, [=](Context& ctx) {
                         Outputs outputs;
                         for (const float theta : {0.f, 10.f, 37.5f, 100.f}) {
                           Tensor p = zeros(ctx, {K, hw});
                           uc::cam_denoised_pixel_weights(ctx, p, on(ctx, grads), K, hw, theta);
                           outputs.push_back({"theta " + std::to_string(theta), p});
                         }
                         return outputs;
                       }});
    }
  for (const Dims d : {Dims{512, 196}, Dims{10, 3136}, Dims{1, 5}, Dims{37, 50}})
    cases.push_back({str("cam weighted sums", d), MathMode::FP32, kCamSums, [=](Context& ctx) {
                       const int K = d.rows, hw = d.cols;
                       const Tensor a = on(ctx, random_cpu({K, hw}, 5, 0.f, 2.f)),
                                    w = on(ctx, random_cpu({K}, 6)),
                                    p = on(ctx, random_cpu({K, hw}, 7, 0.f, 0.01f));
                       Outputs outputs;
                       for (const bool relu : {false, true}) {
                         Tensor channel = zeros(ctx, {hw}), pixel = zeros(ctx, {hw});
                         uc::cam_channel_weighted_sum(ctx, channel, a, w, K, hw, relu);
                         uc::cam_pixel_weighted_sum(ctx, pixel, a, p, K, hw, relu);
                         const std::string r = relu ? ", ReLU" : "";
                         outputs.insert(outputs.end(), {{"channel-weighted" + r, channel},
                                                        {"pixel-weighted" + r, pixel}});
                       }
                       return outputs;
                     }});
  // Score-CAM's sum of M upsampled maps weighted by their scores.
  for (const Dims d : {Dims{512, 224 * 224}, Dims{3, 17}})
    cases.push_back({str("cam_channel_weighted_sum of Score-CAM maps", d), MathMode::FP32, kCamSums,
                     [=](Context& ctx) {
                       const Tensor maps = on(ctx, random_cpu({d.rows, d.cols}, 10, 0.f, 3.f)),
                                    s = on(ctx, random_cpu({d.rows}, 11, -0.2f, 1.f));
                       Tensor plain = zeros(ctx, {d.cols}), relu = zeros(ctx, {d.cols});
                       uc::cam_channel_weighted_sum(ctx, plain, maps, s, d.rows, d.cols, false);
                       uc::cam_channel_weighted_sum(ctx, relu, maps, s, d.rows, d.cols, true);
                       return Outputs{{"sum", plain}, {"sum, ReLU", relu}};
                     }});
  struct Grouping {
    int K, G, hw;
  };
  for (const Grouping c :
       {Grouping{512, 32, 196}, Grouping{10, 4, 196}, Grouping{10, 6, 49}, Grouping{3, 8, 300}})
    cases.push_back({"cam_group_sums K=" + std::to_string(c.K) + " groups=" + std::to_string(c.G),
                     MathMode::FP32, kCamSums, [=](Context& ctx) {
                       Tensor out = zeros(ctx, {uc::cam_group_count(c.K, c.G), c.hw});
                       uc::cam_group_sums(ctx, out, on(ctx, random_cpu({c.K, c.hw}, 8, 0.f, 2.f)),
                                          on(ctx, random_cpu({c.K}, 9)), c.K, c.hw, c.G);
                       return Outputs{{"sums", out}};
                     }});
  struct Resize {
    int M, h, w, H, W;
  };
  for (const Resize s : {Resize{512, 14, 14, 224, 224}, Resize{3, 7, 5, 13, 17},
                         Resize{2, 20, 20, 7, 9}, Resize{1, 1, 1, 4, 3}, Resize{2, 7, 7, 7, 7}})
    cases.push_back({"cam_upsample_bilinear " + std::to_string(s.h) + "x" + std::to_string(s.w) +
                         " -> " + std::to_string(s.H) + "x" + std::to_string(s.W),
                     MathMode::FP32, kResample, [=](Context& ctx) {
                       Tensor out = zeros(ctx, {s.M, s.H, s.W});
                       uc::cam_upsample_bilinear(ctx, out, on(ctx, random_cpu({s.M, s.h, s.w}, 12)),
                                                 s.M, s.h, s.w, s.H, s.W);
                       return Outputs{{"maps", out}};
                     }});
  // Maps of which about a third are constant (zero or another value), some differing in one pixel.
  for (const Dims d : {Dims{64, 224 * 224}, Dims{4096, 9}, Dims{1000, 1}, Dims{3, 5}}) {
    const int M = d.rows, n = d.cols;
    std::mt19937 gen(13);
    std::vector<float> values = random_cpu({M, n}, 14).to_host();
    for (int m = 0; m < M; ++m) {
      const unsigned kind = gen() % 6;
      float* v = values.data() + int64_t(m) * n;
      if (kind <= 1) std::fill(v, v + n, kind == 0 ? 0.f : 0.75f);
      if (kind == 2) std::fill(v, v + n - 1, -2.f);
    }
    const Tensor maps = Tensor::from_host(Backend::CPU, {M, n}, values);
    cases.push_back({str("cam map min/max and non-constant maps", d), MathMode::FP32, kExact,
                     [=](Context& ctx) {
                       const Tensor m = on(ctx, maps);
                       Tensor lo = zeros(ctx, {M}), hi = zeros(ctx, {M}), index = zeros(ctx, {M});
                       uc::cam_map_min_max(ctx, lo, hi, m, M, n);
                       const int count = uc::cam_nonconstant_maps(ctx, index, m, M, n);
                       return Outputs{{"min", lo},
                                      {"max", hi},
                                      {"non-constant indices", index.view(0, {count})},
                                      {"non-constant count",
                                       Tensor::from_host(Backend::CPU, {1}, {float(count)})}};
                     }});
    cases.push_back({str("cam_normalize_maps", d), MathMode::FP32, kNormalize, [=](Context& ctx) {
                       Tensor m = on(ctx, maps);
                       uc::cam_normalize_maps(ctx, m, M, n);
                       return Outputs{{"normalized", m}};
                     }});
  }
  cases.push_back(
      {"cam_masked_inputs 224x224, through an index and in order", MathMode::FP32, kBlend,
       [](Context& ctx) {
         const int H = 224, W = 224, M = 64, m = 32, first = 5;
         std::vector<float> picks(M);  // a shuffled subset, as cam_nonconstant_maps hands over
         std::iota(picks.begin(), picks.end(), 0.f);
         std::shuffle(picks.begin(), picks.end(), std::mt19937(18));
         const Tensor maps = on(ctx, random_cpu({M, H, W}, 15, 0.f, 1.f)),
                      x = on(ctx, random_cpu({3, H, W}, 16, -2.f, 2.f)),
                      substrate = on(ctx, random_cpu({3, H, W}, 17, -2.f, 2.f)),
                      index = on(ctx, Tensor::from_host(Backend::CPU, {M}, picks));
         Tensor picked = zeros(ctx, {m, 3, H, W}), direct = zeros(ctx, {m, 3, H, W});
         uc::cam_masked_inputs(ctx, picked, maps, &index, first, m, x, substrate, H, W);
         uc::cam_masked_inputs(ctx, direct, maps, nullptr, first, m, x, substrate, H, W);
         return Outputs{{"through an index", picked}, {"maps in order", direct}};
       }});
  struct Blur {
    int H, W, ksize;
    float sigma;
  };
  // 51/50 on 224x224 is Group-CAM's blur; the smaller images need one reflection (32x32),
  // repeated reflections (12x9) or collapse to a single row (1x5).
  for (const Blur c : {Blur{224, 224, 51, 50.f}, Blur{32, 32, 51, 50.f}, Blur{12, 9, 51, 50.f},
                       Blur{1, 5, 7, 1.5f}, Blur{20, 30, 1, 1.f}})
    cases.push_back({"cam_gaussian_blur " + std::to_string(c.H) + "x" + std::to_string(c.W) +
                         " ksize " + std::to_string(c.ksize),
                     MathMode::FP32, kBlur, [=](Context& ctx) {
                       const Tensor in = on(ctx, random_cpu({3, c.H, c.W}, 19, -2.f, 2.f));
                       Tensor out = zeros(ctx, in.shape()), inplace = on(ctx, in);
                       uc::cam_gaussian_blur(ctx, out, in, c.H, c.W, c.ksize, c.sigma);
                       uc::cam_gaussian_blur(ctx, inplace, inplace, c.H, c.W, c.ksize, c.sigma);
                       return Outputs{{"blurred", out}, {"blurred in place", inplace}};
                     }});
  for (const Dims d : {Dims{37, 1000}, Dims{1, 3}, Dims{64, 10}})
    cases.push_back(
        {str("cam_class_scores", d), MathMode::FP32, kSoftmax, [=](Context& ctx) {
           const int m = d.rows, classes = d.cols, c = classes / 3, offset = 3;
           const Tensor logits = on(ctx, random_cpu({m, classes}, 20, -15.f, 15.f));
           Tensor probs = zeros(ctx, {offset + m + 4}), raw = zeros(ctx, {offset + m + 4});
           uc::cam_class_scores(ctx, probs, offset, logits, m, classes, c, uc::ScoreKind::Prob);
           uc::cam_class_scores(ctx, raw, offset, logits, m, classes, c, uc::ScoreKind::Logit);
           return Outputs{{"probabilities", probs}, {"logits", raw}};
         }});
  // A quantised map has long runs of ties: only the index rule orders them.
  for (const int levels : {0, 16, 1000})
    cases.push_back({"cam_saliency_order 224x224, levels " + std::to_string(levels), MathMode::FP32,
                     kExact, [=](Context& ctx) {
                       const int n = 224 * 224;
                       Tensor order = zeros(ctx, {n});
                       uc::cam_saliency_order(
                           ctx, order,
                           on(ctx, levels ? quantised_cpu({n}, 21, levels) : random_cpu({n}, 22)),
                           n);
                       return Outputs{{"order", order}};
                     }});
  cases.push_back({"cam_saliency_order of 1M pixels", MathMode::FP32, kExact, [](Context& ctx) {
                     Tensor order = zeros(ctx, {1 << 20});
                     uc::cam_saliency_order(ctx, order, on(ctx, quantised_cpu({1 << 20}, 23, 64)),
                                            1 << 20);
                     return Outputs{{"order", order}};
                   }});
  // The first images of a curve, and the last ones, whose final image is all `source`.
  const int H = 224, W = 224, n = H * W, step = 2 * W, steps = (n + step - 1) / step;
  for (const Dims d : {Dims{0, 8}, Dims{steps - 12, 13}})
    cases.push_back(
        {str("cam_curve_images first, count", d), MathMode::FP32, kExact, [=](Context& ctx) {
           Tensor order = zeros(ctx, {n}), images = zeros(ctx, {d.cols, 3, H, W});
           uc::cam_saliency_order(ctx, order, on(ctx, quantised_cpu({n}, 24, 32)), n);
           uc::cam_curve_images(ctx, images, order, on(ctx, random_cpu({3, H, W}, 25)),
                                on(ctx, random_cpu({3, H, W}, 26)), d.rows, d.cols, step, H, W);
           return Outputs{{"images", images}};
         }});
  cases.push_back(
      {"cam_score_differences and cam_scatter", MathMode::FP32, kExact, [](Context& ctx) {
         const int K = 512, live = 300;
         const Tensor scores = on(ctx, random_cpu({K + 1}, 31, 0.f, 1.f));
         Tensor relu = zeros(ctx, {K}), plain = zeros(ctx, {K}), dst = zeros(ctx, {K});
         uc::cam_score_differences(ctx, relu, scores, 1, K, true);
         uc::cam_score_differences(ctx, plain, scores, 1, K, false);
         std::vector<float> index(live);
         for (int i = 0; i < live; ++i) index[i] = float(i * K / live);  // increasing, distinct
         uc::cam_scatter(ctx, dst, on(ctx, random_cpu({live}, 32)),
                         on(ctx, Tensor::from_host(Backend::CPU, {live}, index)), live, K);
         return Outputs{{"differences, ReLU", relu}, {"differences", plain}, {"scatter", dst}};
       }});
}

std::vector<OpCase> kernel_cases() {
  std::vector<OpCase> cases;
  add_layer_kernel_cases(cases);
  add_cam_kernel_cases(cases);
  return cases;
}

// The loop: each case on the CPU and on CUDA, every output compared.
void compare_backends(const std::vector<OpCase>& cases) {
  for (const OpCase& c : cases) {
    INFO(c.name, " (", uc::math_mode_name(c.math), "; tolerance: ", c.tolerance.why, ")");
    Context cpu(Backend::CPU), gpu(Backend::CUDA, c.math);
    const Outputs expected = c.run(cpu), actual = c.run(gpu);
    REQUIRE(actual.size() == expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      const std::vector<float> e = expected[i].second.to_host();
      CHECK_CLOSE(c.name + ": " + expected[i].first, actual[i].second.to_host(), e,
                  c.tolerance.atol_scale * uc::test::max_abs(e), c.tolerance.rtol);
    }
  }
}

}  // namespace

TEST_CASE("cuda/every hand-written kernel matches the CPU" * UC_NEEDS_GPU) {
  compare_backends(kernel_cases());
}

TEST_CASE("cuda/every cuDNN and cuBLAS layer matches the CPU" * UC_NEEDS_GPU) {
  compare_backends(library_cases());
}

// Beyond CPU = CUDA: constant maps stay exactly constant at ratios that are not powers of two,
// so Score-CAM's constant-channel rule skips the same channels on both backends.
TEST_CASE("cuda/bilinear upsampling keeps constant maps constant" * UC_NEEDS_GPU) {
  Context gpu(Backend::CUDA);
  for (const int h : {13, 17}) {
    INFO("constant ", h, "x", h, " -> 224x224");
    const int M = 4, H = 224;
    std::vector<float> values(size_t(M) * h * h);
    for (size_t i = 0; i < values.size(); ++i)
      values[i] = 0.1f + 0.37f * float(i / (size_t(h) * h));
    const Tensor in = Tensor::from_host(Backend::CUDA, {M, h, h}, values);
    Tensor out = Tensor::zeros(Backend::CUDA, {M, H, H}), index = Tensor::zeros(Backend::CUDA, {M});
    uc::cam_upsample_bilinear(gpu, out, in, M, h, h, H, H);
    CHECK(uc::cam_nonconstant_maps(gpu, index, out, M, H * H) == 0);
  }
}
