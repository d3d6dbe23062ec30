// Every layer through the CPU and the CUDA backend on the same random inputs (ggml's
// every-backend-against-CPU scheme). Skipped where no GPU is present.
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "layers/layers.h"
#include "tests/check.h"

namespace {

using uc::Backend;
using uc::Context;
using uc::MathMode;
using uc::Shape;
using uc::Tensor;

// atol is relative to the largest expected magnitude, so sums that cancel to near zero are
// judged against the size of their terms rather than their own.
struct Tol {
  double rtol, atol_scale;
};
constexpr Tol kFp32{1e-4, 1e-4};
constexpr Tol kTf32{1e-2, 1e-2};

using uc::test::random_cpu;

using uc::test::to_cuda;

void check_same(const std::string& name, const Tensor& cuda, const Tensor& cpu, Tol tol) {
  const std::vector<float> actual = cuda.to_host(), expected = cpu.to_host();
  double scale = 0;
  for (float v : expected) scale = std::max(scale, static_cast<double>(std::fabs(v)));
  CHECK_CLOSE(name, actual, expected, tol.atol_scale * scale, tol.rtol);
}

std::string describe(const uc::ConvShape& s) {
  return "n=" + std::to_string(s.n) + " c=" + std::to_string(s.c) + " " + std::to_string(s.h) + "x" +
         std::to_string(s.w) + " k=" + std::to_string(s.k) + " kernel " + std::to_string(s.r) + "x" +
         std::to_string(s.s) + " stride=" + std::to_string(s.stride) + " pad=" + std::to_string(s.pad);
}

// Forward, then `passes` backward calls whose parameter gradients start from random values, so
// accumulation (+=) and the cached algorithms of later calls are both covered.
void compare_conv(const uc::ConvShape& s, MathMode math, Tol tol, int passes = 1) {
  INFO(describe(s), " math=", uc::math_mode_name(math));
  Context cpu(Backend::CPU), gpu(Backend::CUDA, math);
  const Shape in_shape{s.n, s.c, s.h, s.w}, w_shape{s.k, s.c, s.r, s.s}, b_shape{s.k},
      out_shape{s.n, s.k, s.out_h(), s.out_w()};
  const Tensor x = random_cpu(in_shape, 1), w = random_cpu(w_shape, 2), b = random_cpu(b_shape, 3),
               dout = random_cpu(out_shape, 4);
  const Tensor gx = to_cuda(x), gw = to_cuda(w),
               gb = to_cuda(b), gdout = to_cuda(dout);

  Tensor out = Tensor::empty(Backend::CPU, out_shape), gout = Tensor::empty(Backend::CUDA, out_shape);
  uc::conv2d_forward(cpu, out, x, w, b, s);
  uc::conv2d_forward(gpu, gout, gx, gw, gb, s);
  check_same("conv2d forward", gout, out, tol);

  Tensor din = Tensor::empty(Backend::CPU, in_shape), gdin = Tensor::empty(Backend::CUDA, in_shape);
  Tensor dw = random_cpu(w_shape, 5), db = random_cpu(b_shape, 6);
  Tensor gdw = to_cuda(dw), gdb = to_cuda(db);
  for (int pass = 0; pass < passes; ++pass) {
    uc::conv2d_backward(cpu, &din, &dw, &db, dout, x, w, s);
    uc::conv2d_backward(gpu, &gdin, &gdw, &gdb, gdout, gx, gw, s);
  }
  check_same("conv2d din", gdin, din, tol);
  check_same("conv2d dw (accumulated)", gdw, dw, tol);
  check_same("conv2d db (accumulated)", gdb, db, tol);
}

const std::vector<uc::ConvShape> kOddConvShapes = {
    {3, 5, 13, 17, 7, 3, 3, 2, 0},   // stride 2, no padding, non-square input
    {2, 3, 32, 32, 16, 3, 3, 1, 1},  // a first VGG layer: three input channels
    {1, 8, 9, 6, 4, 3, 5, 1, 1},     // non-square kernel
    {2, 16, 7, 7, 32, 1, 1, 1, 0},   // 1x1
    {1, 4, 10, 11, 6, 3, 3, 2, 1},   // stride 2 with padding, odd width
};

void compare_linear(const uc::LinearShape& s, MathMode math, Tol tol) {
  INFO("linear n=", s.n, " in=", s.in_features, " out=", s.out_features, " math=",
       uc::math_mode_name(math));
  Context cpu(Backend::CPU), gpu(Backend::CUDA, math);
  const Shape in_shape{s.n, s.in_features}, w_shape{s.out_features, s.in_features},
      b_shape{s.out_features}, out_shape{s.n, s.out_features};
  const Tensor x = random_cpu(in_shape, 11), w = random_cpu(w_shape, 12), b = random_cpu(b_shape, 13),
               dout = random_cpu(out_shape, 14);
  const Tensor gx = to_cuda(x), gw = to_cuda(w),
               gb = to_cuda(b), gdout = to_cuda(dout);

  Tensor out = Tensor::empty(Backend::CPU, out_shape), gout = Tensor::empty(Backend::CUDA, out_shape);
  uc::linear_forward(cpu, out, x, w, b, s);
  uc::linear_forward(gpu, gout, gx, gw, gb, s);
  check_same("linear forward", gout, out, tol);

  Tensor din = Tensor::empty(Backend::CPU, in_shape), gdin = Tensor::empty(Backend::CUDA, in_shape);
  Tensor dw = random_cpu(w_shape, 15), db = random_cpu(b_shape, 16);
  Tensor gdw = to_cuda(dw), gdb = to_cuda(db);
  for (int pass = 0; pass < 2; ++pass) {
    uc::linear_backward(cpu, &din, &dw, &db, dout, x, w, s);
    uc::linear_backward(gpu, &gdin, &gdw, &gdb, gdout, gx, gw, s);
  }
  check_same("linear din", gdin, din, tol);
  check_same("linear dw (accumulated twice)", gdw, dw, tol);
  check_same("linear db (accumulated twice)", gdb, db, tol);
}

void compare_maxpool(const uc::PoolShape& s, const Tensor& x) {
  INFO("maxpool ", s.h, "x", s.w, " kernel=", s.kernel, " stride=", s.stride);
  Context cpu(Backend::CPU), gpu(Backend::CUDA);
  const Shape out_shape{s.n, s.c, s.out_h(), s.out_w()};
  const Tensor gx = to_cuda(x);
  Tensor out = Tensor::empty(Backend::CPU, out_shape), gout = Tensor::empty(Backend::CUDA, out_shape);
  uc::maxpool2d_forward(cpu, out, x, s);
  uc::maxpool2d_forward(gpu, gout, gx, s);
  check_same("maxpool forward", gout, out, kFp32);

  const Tensor dout = random_cpu(out_shape, 21), gdout = to_cuda(dout);
  Tensor din = Tensor::empty(Backend::CPU, x.shape()), gdin = Tensor::empty(Backend::CUDA, x.shape());
  uc::maxpool2d_backward(cpu, din, dout, x, out, s);
  uc::maxpool2d_backward(gpu, gdin, gdout, gx, gout, s);
  check_same("maxpool din", gdin, din, kFp32);
  // The winners come from the input alone, as on the CPU: an `out` that is not the forward's
  // result changes nothing.
  Tensor not_out = to_cuda(random_cpu(out_shape, 22));
  uc::maxpool2d_backward(gpu, gdin, gdout, gx, not_out, s);
  check_same("maxpool din (out ignored)", gdin, din, kFp32);
}

void compare_adaptive(const uc::AdaptivePoolShape& s) {
  INFO("adaptive avgpool ", s.h, "x", s.w, " -> ", s.out_h, "x", s.out_w);
  Context cpu(Backend::CPU), gpu(Backend::CUDA);
  const Shape in_shape{s.n, s.c, s.h, s.w}, out_shape{s.n, s.c, s.out_h, s.out_w};
  const Tensor x = random_cpu(in_shape, 31), dout = random_cpu(out_shape, 32);
  Tensor out = Tensor::empty(Backend::CPU, out_shape), gout = Tensor::empty(Backend::CUDA, out_shape);
  uc::adaptive_avgpool_forward(cpu, out, x, s);
  uc::adaptive_avgpool_forward(gpu, gout, to_cuda(x), s);
  check_same("adaptive avgpool forward", gout, out, kFp32);

  Tensor din = Tensor::empty(Backend::CPU, in_shape), gdin = Tensor::empty(Backend::CUDA, in_shape);
  uc::adaptive_avgpool_backward(cpu, din, dout, s);
  uc::adaptive_avgpool_backward(gpu, gdin, to_cuda(dout), s);
  check_same("adaptive avgpool din", gdin, din, kFp32);
}

}  // namespace

TEST_CASE("cuda/conv2d VGG-like shape, fp32" * UC_NEEDS_GPU) {
  compare_conv({2, 64, 56, 56, 128, 3, 3, 1, 1}, MathMode::FP32, kFp32);
}

TEST_CASE("cuda/conv2d odd shapes, fp32" * UC_NEEDS_GPU) {
  for (const auto& s : kOddConvShapes) compare_conv(s, MathMode::FP32, kFp32);
}

TEST_CASE("cuda/conv2d tf32" * UC_NEEDS_GPU) {
  compare_conv({2, 64, 56, 56, 128, 3, 3, 1, 1}, MathMode::TF32, kTf32);
  for (const auto& s : kOddConvShapes) compare_conv(s, MathMode::TF32, kTf32);
}

TEST_CASE("cuda/conv2d parameter gradients accumulate over calls" * UC_NEEDS_GPU) {
  compare_conv({2, 32, 14, 14, 64, 3, 3, 1, 1}, MathMode::FP32, kFp32, 3);
  compare_conv({3, 5, 13, 17, 7, 3, 3, 2, 0}, MathMode::FP32, kFp32, 2);
}

TEST_CASE("cuda/conv2d computes only the requested gradients" * UC_NEEDS_GPU) {
  const uc::ConvShape s{2, 8, 12, 10, 16, 3, 3, 1, 1};
  Context cpu(Backend::CPU), gpu(Backend::CUDA);
  const Shape in_shape{s.n, s.c, s.h, s.w}, w_shape{s.k, s.c, s.r, s.s},
      out_shape{s.n, s.k, s.out_h(), s.out_w()};
  const Tensor x = random_cpu(in_shape, 41), w = random_cpu(w_shape, 42), dout = random_cpu(out_shape, 43);
  const Tensor gx = to_cuda(x), gw = to_cuda(w),
               gdout = to_cuda(dout);

  Tensor din = Tensor::empty(Backend::CPU, in_shape), gdin = Tensor::empty(Backend::CUDA, in_shape);
  uc::conv2d_backward(cpu, &din, nullptr, nullptr, dout, x, w, s);
  uc::conv2d_backward(gpu, &gdin, nullptr, nullptr, gdout, gx, gw, s);
  check_same("conv2d din only", gdin, din, kFp32);

  Tensor db = Tensor::zeros(Backend::CPU, {s.k}), gdb = Tensor::zeros(Backend::CUDA, {s.k});
  uc::conv2d_backward(cpu, nullptr, nullptr, &db, dout, x, w, s);
  uc::conv2d_backward(gpu, nullptr, nullptr, &gdb, gdout, gx, gw, s);
  check_same("conv2d db only", gdb, db, kFp32);
}

TEST_CASE("cuda/relu forward, backward and in place" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA);
  const Shape shape{2, 7, 9, 11};
  const Tensor x = random_cpu(shape, 51), dout = random_cpu(shape, 52);
  Tensor out = Tensor::empty(Backend::CPU, shape), gout = Tensor::empty(Backend::CUDA, shape);
  uc::relu_forward(cpu, out, x);
  uc::relu_forward(gpu, gout, to_cuda(x));
  check_same("relu forward", gout, out, kFp32);

  Tensor din = Tensor::empty(Backend::CPU, shape), gdin = Tensor::empty(Backend::CUDA, shape);
  uc::relu_backward(cpu, din, dout, out);
  uc::relu_backward(gpu, gdin, to_cuda(dout), gout);
  check_same("relu din", gdin, din, kFp32);

  Tensor inplace = to_cuda(x);
  uc::relu_forward(gpu, inplace, inplace);
  check_same("relu forward in place", inplace, out, kFp32);
  Tensor grad = to_cuda(dout);
  uc::relu_backward(gpu, grad, grad, gout);
  check_same("relu backward in place", grad, din, kFp32);
}

TEST_CASE("cuda/maxpool2d" * UC_NEEDS_GPU) {
  const std::vector<uc::PoolShape> shapes = {
      {2, 16, 14, 14, 2, 2},  // VGG's pool
      {1, 3, 7, 7, 2, 2},     // odd size: the last row and column are dropped
      {2, 4, 7, 9, 3, 2},     // overlapping windows
      {1, 2, 10, 6, 3, 3},    // non-square, stride equal to the kernel
  };
  for (const auto& s : shapes) compare_maxpool(s, random_cpu({s.n, s.c, s.h, s.w}, 61));
}

TEST_CASE("cuda/maxpool2d ties go to the first maximum" * UC_NEEDS_GPU) {
  // Three levels only, so most windows hold several equal maxima.
  for (const uc::PoolShape s : {uc::PoolShape{2, 4, 8, 8, 2, 2}, uc::PoolShape{1, 3, 9, 9, 3, 2}}) {
    std::vector<float> v = uc::test::random_vector(static_cast<size_t>(s.n * s.c * s.h * s.w), 71, 0.f, 3.f);
    for (float& e : v) e = std::floor(e) * 0.5f;
    compare_maxpool(s, Tensor::from_host(Backend::CPU, {s.n, s.c, s.h, s.w}, v));
  }
}

TEST_CASE("cuda/adaptive_avgpool" * UC_NEEDS_GPU) {
  compare_adaptive({2, 8, 2, 2, 7, 7});    // upsampling: inputs shared by several bins
  compare_adaptive({2, 8, 7, 7, 7, 7});    // identity
  compare_adaptive({1, 4, 14, 14, 7, 7});  // 448-pixel input
  compare_adaptive({1, 3, 9, 5, 7, 3});    // overlapping, non-square bins
  compare_adaptive({1, 2, 3, 10, 7, 4});   // up in one axis, down in the other
}

TEST_CASE("cuda/linear fp32" * UC_NEEDS_GPU) {
  compare_linear({3, 37, 5}, MathMode::FP32, kFp32);
  compare_linear({2, 25088, 256}, MathMode::FP32, kFp32);  // VGG's first classifier layer, narrowed
  compare_linear({4, 4096, 1000}, MathMode::FP32, kFp32);
}

TEST_CASE("cuda/linear tf32" * UC_NEEDS_GPU) {
  compare_linear({3, 37, 5}, MathMode::TF32, kTf32);
  compare_linear({2, 25088, 256}, MathMode::TF32, kTf32);
}

TEST_CASE("cuda/batchnorm" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU), gpu(Backend::CUDA);
  for (const uc::ChannelShape s : {uc::ChannelShape{2, 16, 49}, uc::ChannelShape{3, 10, 1}}) {
    INFO("batchnorm n=", s.n, " c=", s.c, " hw=", s.hw);
    const Shape shape{s.n, s.c, s.hw};
    const Tensor x = random_cpu(shape, 81), dout = random_cpu(shape, 82);
    const Tensor scale = random_cpu({s.c}, 83, 0.5f, 2.f), shift = random_cpu({s.c}, 84);
    const Tensor gscale = to_cuda(scale);
    Tensor out = Tensor::empty(Backend::CPU, shape), gout = Tensor::empty(Backend::CUDA, shape);
    uc::batchnorm_forward(cpu, out, x, scale, shift, s);
    uc::batchnorm_forward(gpu, gout, to_cuda(x), gscale, to_cuda(shift), s);
    check_same("batchnorm forward", gout, out, kFp32);

    Tensor din = Tensor::empty(Backend::CPU, shape), gdin = Tensor::empty(Backend::CUDA, shape);
    uc::batchnorm_backward(cpu, din, dout, scale, s);
    uc::batchnorm_backward(gpu, gdin, to_cuda(dout), gscale, s);
    check_same("batchnorm din", gdin, din, kFp32);
  }
}

TEST_CASE("cuda/conv2d_bias_relu_forward and NHWC pooling match the CPU" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU);
  for (MathMode math : {MathMode::FP32, MathMode::TF32}) {
    Context gpu(Backend::CUDA, math);
    const Tol tol = math == MathMode::TF32 ? kTf32 : kFp32;
    for (uc::Layout layout : {uc::Layout::NCHW, uc::Layout::NHWC}) {
      for (uc::ConvShape s : {uc::ConvShape{2, 64, 28, 28, 128, 3, 3, 1, 1}, uc::ConvShape{2, 3, 32, 32, 16, 3, 3, 1, 1},
                              uc::ConvShape{3, 5, 13, 17, 7, 3, 3, 2, 0}}) {
        s.layout = layout;
        INFO(describe(s), " ", uc::layout_name(layout), " math=", uc::math_mode_name(math));
        // Element counts are the same in both layouts; the data is random either way.
        const Tensor x = random_cpu({s.n, s.c, s.h, s.w}, 131), w = random_cpu({s.k, s.c, s.r, s.s}, 132),
                     b = random_cpu({s.k}, 133);
        const Shape out_shape{s.n, s.k, s.out_h(), s.out_w()};
        Tensor out = Tensor::empty(Backend::CPU, out_shape), gout = Tensor::empty(Backend::CUDA, out_shape);
        uc::conv2d_bias_relu_forward(cpu, out, x, w, b, s);
        uc::conv2d_bias_relu_forward(gpu, gout, to_cuda(x), to_cuda(w),
                                     to_cuda(b), s);
        check_same("fused conv", gout, out, tol);
      }
    }
  }
  Context gpu(Backend::CUDA);
  for (uc::PoolShape s : {uc::PoolShape{2, 16, 14, 14, 2, 2}, uc::PoolShape{1, 3, 7, 9, 3, 2}}) {
    s.layout = uc::Layout::NHWC;
    const Tensor x = random_cpu({s.n, s.h, s.w, s.c}, 134);
    const Shape out_shape{s.n, s.out_h(), s.out_w(), s.c};
    Tensor out = Tensor::empty(Backend::CPU, out_shape), gout = Tensor::empty(Backend::CUDA, out_shape);
    uc::maxpool2d_forward(cpu, out, x, s);
    uc::maxpool2d_forward(gpu, gout, to_cuda(x), s);
    check_same("maxpool nhwc", gout, out, kFp32);
  }
  const Tensor x = random_cpu({2, 5, 6, 7}, 135);
  for (uc::Layout to : {uc::Layout::NHWC, uc::Layout::NCHW}) {
    const uc::Layout from = to == uc::Layout::NHWC ? uc::Layout::NCHW : uc::Layout::NHWC;
    Tensor out = Tensor::empty(Backend::CPU, x.shape()), gout = Tensor::empty(Backend::CUDA, x.shape());
    uc::convert_layout(cpu, out, to, x, from, 2, 5, 6, 7);
    uc::convert_layout(gpu, gout, to, to_cuda(x), from, 2, 5, 6, 7);
    check_same(std::string("convert to ") + uc::layout_name(to), gout, out, {0, 0});
  }
}

TEST_CASE("cuda/conv2d at new batch sizes (algorithms reused from the first) matches the CPU" * UC_NEEDS_GPU) {
  Context cpu(Backend::CPU);
  for (MathMode math : {MathMode::FP32, MathMode::TF32}) {
    Context gpu(Backend::CUDA, math);  // one context: later batch sizes find the first one's plans
    const Tol tol = math == MathMode::TF32 ? kTf32 : kFp32;
    for (int n : {4, 3, 1}) {
      const uc::ConvShape s{n, 32, 20, 20, 48, 3, 3, 1, 1};
      INFO(describe(s), " math=", uc::math_mode_name(math));
      const Shape in_shape{s.n, s.c, s.h, s.w}, w_shape{s.k, s.c, s.r, s.s}, out_shape{s.n, s.k, s.out_h(), s.out_w()};
      const Tensor x = random_cpu(in_shape, 141), w = random_cpu(w_shape, 142), b = random_cpu({s.k}, 143),
                   dout = random_cpu(out_shape, 144);
      const Tensor gx = to_cuda(x), gw = to_cuda(w), gdout = to_cuda(dout);
      Tensor out = Tensor::empty(Backend::CPU, out_shape), gout = Tensor::empty(Backend::CUDA, out_shape);
      uc::conv2d_forward(cpu, out, x, w, b, s);
      uc::conv2d_forward(gpu, gout, gx, gw, to_cuda(b), s);
      check_same("forward", gout, out, tol);
      Tensor din = Tensor::empty(Backend::CPU, in_shape), gdin = Tensor::empty(Backend::CUDA, in_shape);
      Tensor dw = Tensor::zeros(Backend::CPU, w_shape), gdw = Tensor::zeros(Backend::CUDA, w_shape);
      uc::conv2d_backward(cpu, &din, &dw, nullptr, dout, x, w, s);
      uc::conv2d_backward(gpu, &gdin, &gdw, nullptr, gdout, gx, gw, s);
      check_same("din", gdin, din, tol);
      check_same("dw", gdw, dw, tol);
    }
  }
}
