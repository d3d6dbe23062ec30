// CPU layers against naive double-precision loops written here, and their backward passes
// against central differences of L = sum(dout * forward(x)) on those loops (Caffe's scheme).
#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "core/error.h"
#include "layers/conv2d_cpu.h"
#include "layers/gemm.h"
#include "layers/layers.h"
#include "tests/check.h"

namespace {

using uc::Backend;
using uc::shape_numel;
using uc::Tensor;
using uc::test::random_vector;
using Vec = std::vector<double>;
using Fn = std::function<Vec(const Vec&)>;

constexpr double kAtol = 1e-4, kRtol = 1e-3;  // float analytics against double references

Tensor cpu(const uc::Shape& shape, const std::vector<float>& values) {
  return Tensor::from_host(Backend::CPU, shape, values);
}
Tensor cpu_zeros(const uc::Shape& shape) { return Tensor::zeros(Backend::CPU, shape); }
Vec to_double(const std::vector<float>& v) { return Vec(v.begin(), v.end()); }

double dot(const Vec& a, const Vec& b) {
  return std::inner_product(a.begin(), a.end(), b.begin(), 0.0);
}

// dL/dx by central differences, L(x) = sum(dout * f(x)); step 1e-3 on the double reference.
Vec numeric_grad(const Fn& f, Vec x, const Vec& dout) {
  const double h = 1e-3;
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double xi = x[i];
    x[i] = xi + h;
    const double plus = dot(dout, f(x));
    x[i] = xi - h;
    const double minus = dot(dout, f(x));
    x[i] = xi;
    g[i] = (plus - minus) / (2 * h);
  }
  return g;
}

// Values at least `gap` apart and away from zero, so max and ReLU kinks are never within the
// finite-difference step.
std::vector<float> distinct_values(size_t n, uint32_t seed, float gap = 0.01f) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = (float(i) - float(n) / 2 + 0.5f) * gap;
  std::mt19937 gen(seed);
  std::shuffle(v.begin(), v.end(), gen);
  return v;
}

// ---- naive references -------------------------------------------------------------------------

Vec conv_ref(const Vec& x, const Vec& w, const Vec& b, const uc::ConvShape& s) {
  const int oh = s.out_h(), ow = s.out_w();
  Vec y(size_t(s.n) * s.k * oh * ow);
  for (int n = 0; n < s.n; ++n)
    for (int k = 0; k < s.k; ++k)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          double acc = b[k];
          for (int c = 0; c < s.c; ++c)
            for (int ki = 0; ki < s.r; ++ki)
              for (int kj = 0; kj < s.s; ++kj) {
                const int ih = i * s.stride - s.pad + ki, iw = j * s.stride - s.pad + kj;
                if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                acc += x[((size_t(n) * s.c + c) * s.h + ih) * s.w + iw] *
                       w[((size_t(k) * s.c + c) * s.r + ki) * s.s + kj];
              }
          y[((size_t(n) * s.k + k) * oh + i) * ow + j] = acc;
        }
  return y;
}

// The same loops transposed: every product's contribution to dx, dw, db.
void conv_backward_ref(const Vec& x, const Vec& w, const Vec& dy, const uc::ConvShape& s, Vec& dx,
                       Vec& dw, Vec& db) {
  const int oh = s.out_h(), ow = s.out_w();
  dx.assign(x.size(), 0), dw.assign(w.size(), 0), db.assign(size_t(s.k), 0);
  for (int n = 0; n < s.n; ++n)
    for (int k = 0; k < s.k; ++k)
      for (int i = 0; i < oh; ++i)
        for (int j = 0; j < ow; ++j) {
          const double g = dy[((size_t(n) * s.k + k) * oh + i) * ow + j];
          db[k] += g;
          for (int c = 0; c < s.c; ++c)
            for (int ki = 0; ki < s.r; ++ki)
              for (int kj = 0; kj < s.s; ++kj) {
                const int ih = i * s.stride - s.pad + ki, iw = j * s.stride - s.pad + kj;
                if (ih < 0 || ih >= s.h || iw < 0 || iw >= s.w) continue;
                const size_t xi = ((size_t(n) * s.c + c) * s.h + ih) * s.w + iw;
                const size_t wi = ((size_t(k) * s.c + c) * s.r + ki) * s.s + kj;
                dx[xi] += w[wi] * g;
                dw[wi] += x[xi] * g;
              }
        }
}

Vec maxpool_ref(const Vec& x, const uc::PoolShape& s) {
  const int oh = s.out_h(), ow = s.out_w();
  Vec y(size_t(s.n) * s.c * oh * ow);
  for (int p = 0; p < s.n * s.c; ++p)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        double m = -INFINITY;
        for (int a = 0; a < s.window; ++a)
          for (int b = 0; b < s.window; ++b)
            m = std::max(m, x[(size_t(p) * s.h + i * s.stride + a) * s.w + j * s.stride + b]);
        y[(size_t(p) * oh + i) * ow + j] = m;
      }
  return y;
}

Vec adaptive_ref(const Vec& x, const uc::AdaptivePoolShape& s) {
  Vec y(size_t(s.n) * s.c * s.out_h * s.out_w);
  for (int p = 0; p < s.n * s.c; ++p)
    for (int i = 0; i < s.out_h; ++i)
      for (int j = 0; j < s.out_w; ++j) {
        const int h0 = int(std::floor(double(i) * s.h / s.out_h));
        const int h1 = int(std::ceil(double(i + 1) * s.h / s.out_h));
        const int w0 = int(std::floor(double(j) * s.w / s.out_w));
        const int w1 = int(std::ceil(double(j + 1) * s.w / s.out_w));
        double sum = 0;
        for (int a = h0; a < h1; ++a)
          for (int b = w0; b < w1; ++b) sum += x[(size_t(p) * s.h + a) * s.w + b];
        y[(size_t(p) * s.out_h + i) * s.out_w + j] = sum / ((h1 - h0) * (w1 - w0));
      }
  return y;
}

Vec linear_ref(const Vec& x, const Vec& w, const Vec& b, const uc::LinearShape& s) {
  Vec y(size_t(s.n) * s.out_features);
  for (int n = 0; n < s.n; ++n)
    for (int o = 0; o < s.out_features; ++o) {
      double acc = b[o];
      for (int i = 0; i < s.in_features; ++i)
        acc += x[size_t(n) * s.in_features + i] * w[size_t(o) * s.in_features + i];
      y[size_t(n) * s.out_features + o] = acc;
    }
  return y;
}

Vec batchnorm_ref(const Vec& x, const Vec& scale, const Vec& shift, const uc::ChannelShape& s) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const size_t c = (i / s.hw) % s.c;
    y[i] = x[i] * scale[c] + shift[c];
  }
  return y;
}

Vec softmax_ref(const Vec& x, int n, int classes) {
  Vec y(x.size());
  for (int r = 0; r < n; ++r) {
    const double* row = x.data() + size_t(r) * classes;
    const double m = *std::max_element(row, row + classes);
    double sum = 0;
    for (int i = 0; i < classes; ++i) sum += std::exp(row[i] - m);
    for (int i = 0; i < classes; ++i) y[size_t(r) * classes + i] = std::exp(row[i] - m) / sum;
  }
  return y;
}

// Non-square, stride 2, pad 0, non-square kernel, batch > 1.
const std::vector<uc::ConvShape> kConvShapes = {
    {2, 3, 7, 5, 4, 3, 3, 1, 1},  // VGG's 3x3 pad 1, batch 2, non-square image
    {1, 3, 6, 7, 2, 3, 3, 1, 0},  // 3x3 pad 0
    {1, 2, 8, 9, 3, 3, 3, 2, 0},  // stride 2, pad 0
    {3, 4, 6, 5, 2, 2, 3, 2, 1},  // non-square kernel, stride 2, batch 3
    {2, 3, 5, 5, 3, 1, 1, 1, 0},  // 1x1
    {1, 2, 9, 7, 2, 5, 5, 1, 2},  // 5x5 pad 2
};

std::string tag(const std::string& what, size_t i) { return what + " #" + std::to_string(i); }

// Random input, weights and bias for a convolution, from seeds seed, seed + 10 and seed + 20.
struct ConvData {
  std::vector<float> x, w, b;
};
ConvData random_conv_data(const uc::ConvShape& s, uint32_t seed) {
  return {random_vector(size_t(s.n) * s.c * s.h * s.w, seed),
          random_vector(size_t(s.k) * s.c * s.r * s.s, seed + 10),
          random_vector(size_t(s.k), seed + 20)};
}

// The CPU convolutions under test: the dispatching functions (oneDNN in builds that have it)
// and, in those builds, the im2col fallback too, so both stay tested.
struct ConvImpl {
  std::string name;
  std::function<void(Tensor&, const Tensor&, const Tensor&, const Tensor&, const uc::ConvShape&)>
      forward;
  std::function<void(Tensor*, Tensor*, Tensor*, const Tensor&, const Tensor&, const Tensor&,
                     const uc::ConvShape&)>
      backward;
};
std::vector<ConvImpl> conv_impls(uc::Context& ctx) {
  std::vector<ConvImpl> impls = {{"conv2d", [&](auto&&... a) { uc::conv2d_forward(ctx, a...); },
                                  [&](auto&&... a) { uc::conv2d_backward(ctx, a...); }}};
#ifdef UNIONCAM_DNNL
  impls.push_back(
      {"im2col", uc::detail::conv2d_forward_im2col, uc::detail::conv2d_backward_im2col});
#endif
  return impls;
}

}  // namespace

TEST_CASE("layers/conv2d forward matches naive loops") {
  uc::Context ctx(Backend::CPU);
  for (const ConvImpl& impl : conv_impls(ctx)) {
    for (size_t t = 0; t < kConvShapes.size(); ++t) {
      const uc::ConvShape& s = kConvShapes[t];
      const auto [x, w, b] = random_conv_data(s, 10 + t);
      Tensor out = cpu_zeros({s.n, s.k, s.out_h(), s.out_w()});
      impl.forward(out, cpu({s.n, s.c, s.h, s.w}, x), cpu({s.k, s.c, s.r, s.s}, w), cpu({s.k}, b),
                   s);
      CHECK_CLOSE(tag(impl.name + " out", t), out.to_host(),
                  conv_ref(to_double(x), to_double(w), to_double(b), s), 1e-5, 1e-4);
    }
  }
}

TEST_CASE("layers/conv2d gradients match finite differences") {
  uc::Context ctx(Backend::CPU);
  for (const ConvImpl& impl : conv_impls(ctx)) {
    for (size_t t = 0; t < kConvShapes.size(); ++t) {
      const uc::ConvShape& s = kConvShapes[t];
      const auto [x, w, b] = random_conv_data(s, 40 + t);
      const auto dy = random_vector(size_t(s.n) * s.k * s.out_h() * s.out_w(), 70 + t);
      Tensor din = cpu_zeros({s.n, s.c, s.h, s.w}), dw = cpu_zeros({s.k, s.c, s.r, s.s});
      Tensor db = cpu_zeros({s.k});
      impl.backward(&din, &dw, &db, cpu({s.n, s.k, s.out_h(), s.out_w()}, dy),
                    cpu({s.n, s.c, s.h, s.w}, x), cpu({s.k, s.c, s.r, s.s}, w), s);
      const Vec xd = to_double(x), wd = to_double(w), bd = to_double(b), dyd = to_double(dy);
      CHECK_CLOSE(tag(impl.name + " din", t), din.to_host(),
                  numeric_grad([&](const Vec& v) { return conv_ref(v, wd, bd, s); }, xd, dyd),
                  kAtol, kRtol);
      CHECK_CLOSE(tag(impl.name + " dw", t), dw.to_host(),
                  numeric_grad([&](const Vec& v) { return conv_ref(xd, v, bd, s); }, wd, dyd),
                  kAtol, kRtol);
      CHECK_CLOSE(tag(impl.name + " db", t), db.to_host(),
                  numeric_grad([&](const Vec& v) { return conv_ref(xd, wd, v, s); }, bd, dyd),
                  kAtol, kRtol);
    }
  }
}

TEST_CASE("layers/conv2d large enough for several column blocks") {
  uc::Context ctx(Backend::CPU);
  const std::vector<uc::ConvShape> shapes = {
      {2, 64, 48, 44, 8, 3, 3, 1, 1},   // 576 x 44 columns per output row: 3 blocks of 20 rows
      {1, 128, 64, 62, 4, 3, 3, 2, 1},  // stride 2: 3 blocks
  };
  for (const ConvImpl& impl : conv_impls(ctx)) {
    for (size_t t = 0; t < shapes.size(); ++t) {
      const uc::ConvShape& s = shapes[t];
      const auto x = random_vector(size_t(s.n) * s.c * s.h * s.w, 1 + t);
      const auto w = random_vector(size_t(s.k) * s.c * 9, 2 + t, -0.1f, 0.1f);
      const auto b = random_vector(size_t(s.k), 3 + t);
      const auto dy = random_vector(size_t(s.n) * s.k * s.out_h() * s.out_w(), 4 + t);
      const Tensor xt = cpu({s.n, s.c, s.h, s.w}, x), wt = cpu({s.k, s.c, 3, 3}, w);
      Tensor out = cpu_zeros({s.n, s.k, s.out_h(), s.out_w()});
      impl.forward(out, xt, wt, cpu({s.k}, b), s);
      const Vec xd = to_double(x), wd = to_double(w);
      CHECK_CLOSE(tag(impl.name + " out", t), out.to_host(), conv_ref(xd, wd, to_double(b), s),
                  1e-4, 1e-4);

      Tensor din = cpu_zeros(xt.shape()), dw = cpu_zeros(wt.shape()), db = cpu_zeros({s.k});
      impl.backward(&din, &dw, &db, cpu(out.shape(), dy), xt, wt, s);
      Vec dx_ref, dw_ref, db_ref;
      conv_backward_ref(xd, wd, to_double(dy), s, dx_ref, dw_ref, db_ref);
      CHECK_CLOSE(tag(impl.name + " din", t), din.to_host(), dx_ref, kAtol, kRtol);
      // dw and db are sums of ~4000 products
      CHECK_CLOSE(tag(impl.name + " dw", t), dw.to_host(), dw_ref, 1e-3, kRtol);
      CHECK_CLOSE(tag(impl.name + " db", t), db.to_host(), db_ref, 1e-3, kRtol);
    }
  }
}

TEST_CASE("layers/conv2d parameter gradients accumulate; null gradients are skipped") {
  uc::Context ctx(Backend::CPU);
  const uc::ConvShape s = kConvShapes[0];
  const Tensor x = cpu({s.n, s.c, s.h, s.w}, random_vector(size_t(s.n) * s.c * s.h * s.w, 5));
  const Tensor w = cpu({s.k, s.c, s.r, s.s}, random_vector(size_t(s.k) * s.c * s.r * s.s, 6));
  const Tensor dy = cpu({s.n, s.k, s.out_h(), s.out_w()},
                        random_vector(size_t(s.n) * s.k * s.out_h() * s.out_w(), 7));
  auto twice = [](std::vector<float> v) {
    for (auto& e : v) e *= 2;
    return v;
  };
  for (const ConvImpl& impl : conv_impls(ctx)) {
    Tensor din = cpu_zeros(x.shape()), dw = cpu_zeros(w.shape()), db = cpu_zeros({s.k});
    impl.backward(&din, &dw, &db, dy, x, w, s);
    const auto din1 = din.to_host(), dw1 = dw.to_host(), db1 = db.to_host();

    impl.backward(&din, &dw, &db, dy, x, w, s);
    CHECK_CLOSE(impl.name + " din overwritten", din.to_host(), din1, 0, 0);
    CHECK_CLOSE(impl.name + " dw doubled", dw.to_host(), twice(dw1), 1e-6, 1e-6);
    CHECK_CLOSE(impl.name + " db doubled", db.to_host(), twice(db1), 1e-6, 1e-6);

    Tensor din_only = cpu_zeros(x.shape()), dw_only = cpu_zeros(w.shape());
    impl.backward(&din_only, nullptr, nullptr, dy, x, w, s);
    impl.backward(nullptr, &dw_only, nullptr, dy, x, w, s);
    CHECK_CLOSE(impl.name + " din alone", din_only.to_host(), din1, 0, 0);
    CHECK_CLOSE(impl.name + " dw alone", dw_only.to_host(), dw1, 0, 0);
    impl.backward(nullptr, nullptr, nullptr, dy, x, w, s);
  }
}

#ifdef UNIONCAM_DNNL
TEST_CASE("layers/conv2d oneDNN matches im2col on a VGG-sized layer, gradients accumulating") {
  const uc::ConvShape s{2, 128, 56, 56, 256, 3, 3, 1, 1};  // VGG16's conv3_1 at batch 2
  const Tensor x = cpu({s.n, s.c, s.h, s.w}, random_vector(size_t(s.n) * s.c * s.h * s.w, 8));
  const Tensor w = cpu({s.k, s.c, 3, 3}, random_vector(size_t(s.k) * s.c * 9, 9, -0.05f, 0.05f));
  const Tensor b = cpu({s.k}, random_vector(size_t(s.k), 10));
  const Tensor dy = cpu({s.n, s.k, s.out_h(), s.out_w()},
                        random_vector(size_t(s.n) * s.k * s.out_h() * s.out_w(), 11));
  const auto dw0 = random_vector(size_t(s.k) * s.c * 9, 12), db0 = random_vector(size_t(s.k), 13);
  struct Result {
    std::vector<float> out, din, dw, db;
  };
  auto run = [&](auto forward, auto backward) {
    Tensor out = cpu_zeros(dy.shape()), din = cpu_zeros(x.shape());
    Tensor dw = cpu(w.shape(), dw0), db = cpu({s.k}, db0);  // gradients add to these
    forward(out, x, w, b, s);
    backward(&din, &dw, &db, dy, x, w, s);
    return Result{out.to_host(), din.to_host(), dw.to_host(), db.to_host()};
  };
  const Result dnnl = run(uc::detail::conv2d_forward_dnnl, uc::detail::conv2d_backward_dnnl);
  const Result ref = run(uc::detail::conv2d_forward_im2col, uc::detail::conv2d_backward_im2col);
  CHECK_CLOSE("out", dnnl.out, ref.out, 1e-4, 1e-4);
  CHECK_CLOSE("din", dnnl.din, ref.din, 1e-4, 1e-4);
  CHECK_CLOSE("dw", dnnl.dw, ref.dw, 1e-3, 1e-4);  // sums of 6272 products
  CHECK_CLOSE("db", dnnl.db, ref.db, 1e-3, 1e-4);
}
#endif

TEST_CASE("layers/conv2d rejects mismatched tensors") {
  uc::Context ctx(Backend::CPU);
  const uc::ConvShape s = kConvShapes[0];
  Tensor out = cpu_zeros({s.n, s.k, s.out_h(), s.out_w()});
  const Tensor x = cpu_zeros({s.n, s.c, s.h, s.w}), b = cpu_zeros({s.k});
  const Tensor wrong_w = cpu_zeros({s.k, s.c + 1, s.r, s.s});
  CHECK_THROWS_AS(uc::conv2d_forward(ctx, out, x, wrong_w, b, s), uc::Error);
}

TEST_CASE("layers/relu forward, backward and in place") {
  uc::Context ctx(Backend::CPU);
  auto x = distinct_values(2 * 3 * 4 * 5, 8);
  for (auto& v : x) v += v < 0 ? -0.05f : 0.05f;  // keep the kink out of the FD step
  const auto dy = random_vector(x.size(), 9);
  const uc::Shape shape{2, 3, 4, 5};
  Tensor out = cpu_zeros(shape);
  uc::relu_forward(ctx, out, cpu(shape, x));
  auto relu = [](const Vec& v) {
    Vec y(v.size());
    for (size_t i = 0; i < v.size(); ++i) y[i] = std::max(v[i], 0.0);
    return y;
  };
  CHECK_CLOSE("relu out", out.to_host(), relu(to_double(x)), 0, 0);

  Tensor din = cpu_zeros(shape);
  uc::relu_backward(ctx, din, cpu(shape, dy), out);
  CHECK_CLOSE("relu din", din.to_host(), numeric_grad(relu, to_double(x), to_double(dy)), kAtol,
              kRtol);

  Tensor inplace = cpu(shape, x);
  uc::relu_forward(ctx, inplace, inplace);
  CHECK_CLOSE("relu in place", inplace.to_host(), out.to_host(), 0, 0);
  Tensor grad = cpu(shape, dy);
  uc::relu_backward(ctx, grad, grad, out);
  CHECK_CLOSE("relu backward in place", grad.to_host(), din.to_host(), 0, 0);
}

TEST_CASE("layers/maxpool2d forward and gradient") {
  uc::Context ctx(Backend::CPU);
  const std::vector<uc::PoolShape> shapes = {
      {2, 3, 6, 8, 2, 2},  // VGG's 2x2 stride 2, non-square, batch 2
      {1, 2, 7, 5, 2, 2},  // odd sizes: the last row/column is dropped (floor)
      {2, 2, 7, 9, 3, 2},  // overlapping windows
  };
  for (size_t t = 0; t < shapes.size(); ++t) {
    const uc::PoolShape& s = shapes[t];
    const uc::Shape in_shape{s.n, s.c, s.h, s.w}, out_shape{s.n, s.c, s.out_h(), s.out_w()};
    const auto x = distinct_values(size_t(shape_numel(in_shape)), 11 + t);
    const auto dy = random_vector(size_t(shape_numel(out_shape)), 12 + t);
    const Tensor xt = cpu(in_shape, x);
    Tensor out = cpu_zeros(out_shape), din = cpu_zeros(in_shape);
    uc::maxpool2d_forward(ctx, out, xt, s);
    CHECK_CLOSE(tag("maxpool out", t), out.to_host(), maxpool_ref(to_double(x), s), 0, 0);
    uc::maxpool2d_backward(ctx, din, cpu(out_shape, dy), xt, out, s);
    CHECK_CLOSE(
        tag("maxpool din", t), din.to_host(),
        numeric_grad([&](const Vec& v) { return maxpool_ref(v, s); }, to_double(x), to_double(dy)),
        kAtol, kRtol);
  }
}

TEST_CASE("layers/maxpool2d ties send the gradient to the first maximum") {
  uc::Context ctx(Backend::CPU);
  const uc::PoolShape s{1, 1, 4, 4, 2, 2};
  // Window 0 constant; window 1 has its max twice (row-major first at (0,3)); window 2's max
  // repeats in its second row; window 3 is constant negative.
  const std::vector<float> x = {1, 1, 0,  3,   //
                                1, 1, 3,  2,   //
                                0, 2, -1, -1,  //
                                5, 5, -1, -1};
  const Tensor xt = cpu({1, 1, 4, 4}, x);
  Tensor out = cpu_zeros({1, 1, 2, 2}), din = cpu_zeros({1, 1, 4, 4});
  uc::maxpool2d_forward(ctx, out, xt, s);
  CHECK_CLOSE("tie out", out.to_host(), std::vector<float>({1, 3, 5, -1}), 0, 0);
  uc::maxpool2d_backward(ctx, din, cpu({1, 1, 2, 2}, {10, 20, 30, 40}), xt, out, s);
  const std::vector<float> expected = {10, 0, 0,  20,  //
                                       0,  0, 0,  0,   //
                                       0,  0, 40, 0,   //
                                       30, 0, 0,  0};
  CHECK_CLOSE("tie din", din.to_host(), expected, 0, 0);
}

TEST_CASE("layers/maxpool2d refuses a window larger than the input") {
  uc::Context ctx(Backend::CPU);
  const uc::PoolShape s{1, 1, 1, 4, 2, 2};  // h = 1 < kernel: (1 - 2) / 2 + 1 is 1 in C++
  Tensor out = cpu_zeros({1, 1, 1, 2});
  CHECK_THROWS_AS(uc::maxpool2d_forward(ctx, out, cpu({1, 1, 1, 4}, {1, 2, 3, 4}), s), uc::Error);
}

TEST_CASE("layers/adaptive_avgpool forward and gradient, down- and upsampling") {
  uc::Context ctx(Backend::CPU);
  const std::vector<uc::AdaptivePoolShape> shapes = {
      {2, 3, 5, 7, 3, 2},    // uneven bins, non-square
      {1, 2, 13, 13, 7, 7},  // VGG at 416 px: overlapping bins
      {2, 2, 2, 2, 7, 7},    // upsampling: each input feeds several outputs
      {1, 2, 3, 8, 5, 3},    // up in one direction, down in the other
  };
  for (size_t t = 0; t < shapes.size(); ++t) {
    const uc::AdaptivePoolShape& s = shapes[t];
    const uc::Shape in_shape{s.n, s.c, s.h, s.w}, out_shape{s.n, s.c, s.out_h, s.out_w};
    const auto x = random_vector(size_t(shape_numel(in_shape)), 13 + t);
    const auto dy = random_vector(size_t(shape_numel(out_shape)), 14 + t);
    Tensor out = cpu_zeros(out_shape), din = cpu_zeros(in_shape);
    uc::adaptive_avgpool_forward(ctx, out, cpu(in_shape, x), s);
    CHECK_CLOSE(tag("adaptive out", t), out.to_host(), adaptive_ref(to_double(x), s), 1e-6, 1e-5);
    uc::adaptive_avgpool_backward(ctx, din, cpu(out_shape, dy), s);
    CHECK_CLOSE(
        tag("adaptive din", t), din.to_host(),
        numeric_grad([&](const Vec& v) { return adaptive_ref(v, s); }, to_double(x), to_double(dy)),
        kAtol, kRtol);
  }
}

TEST_CASE("layers/adaptive_avgpool special cases: identity at 7x7, 2x2 to 7x7") {
  uc::Context ctx(Backend::CPU);
  const uc::AdaptivePoolShape same{2, 3, 7, 7, 7, 7};
  const auto x = random_vector(2 * 3 * 49, 15);
  Tensor out = cpu_zeros({2, 3, 7, 7}), din = cpu_zeros({2, 3, 7, 7});
  uc::adaptive_avgpool_forward(ctx, out, cpu({2, 3, 7, 7}, x), same);
  CHECK_CLOSE("identity out", out.to_host(), x, 0, 0);
  uc::adaptive_avgpool_backward(ctx, din, cpu({2, 3, 7, 7}, x), same);
  CHECK_CLOSE("identity din", din.to_host(), x, 0, 0);

  // 2x2 -> 7x7: rows 0-2 read input row 0, row 3 averages both rows, rows 4-6 read row 1.
  const uc::AdaptivePoolShape up{1, 1, 2, 2, 7, 7};
  Tensor up_out = cpu_zeros({1, 1, 7, 7});
  uc::adaptive_avgpool_forward(ctx, up_out, cpu({1, 1, 2, 2}, {0, 1, 2, 3}), up);
  const std::vector<float> row0 = {0, 0, 0, 0.5f, 1, 1, 1}, row_mid = {1, 1, 1, 1.5f, 2, 2, 2},
                           row1 = {2, 2, 2, 2.5f, 3, 3, 3};
  std::vector<float> expected;
  for (int i = 0; i < 7; ++i) {
    const auto& r = i < 3 ? row0 : i == 3 ? row_mid : row1;
    expected.insert(expected.end(), r.begin(), r.end());
  }
  CHECK_CLOSE("2x2 to 7x7", up_out.to_host(), expected, 1e-7, 0);
}

TEST_CASE("layers/sgemm (OpenBLAS or built-in) and the built-in loop match a naive product") {
  // Every transpose combination, odd sizes, leading dimensions wider than the rows, alpha/beta,
  // m = 1 (OpenBLAS's gemv path), several column blocks, and beta = 0 over a C holding NaN.
  struct Case {
    bool ta, tb;
    int m, n, k;
    float alpha, beta;
  };
  const Case cases[] = {{false, false, 7, 300, 5, 1.f, 0.f}, {false, true, 5, 9, 300, 0.5f, 1.f},
                        {true, false, 13, 3, 17, 1.f, -2.f}, {true, true, 4, 6, 11, 2.f, 0.5f},
                        {false, true, 1, 530, 37, 1.f, 1.f}, {false, false, 1, 1, 1, 1.f, 0.f}};
  using Gemm = void (*)(bool, bool, int, int, int, float, const float*, int, const float*, int,
                        float, float*, int);
  for (const Case& t : cases) {
    CAPTURE(t.ta);
    CAPTURE(t.tb);
    CAPTURE(t.m);
    CAPTURE(t.n);
    CAPTURE(t.k);
    const int a_rows = t.ta ? t.k : t.m, a_cols = t.ta ? t.m : t.k;
    const int b_rows = t.tb ? t.n : t.k, b_cols = t.tb ? t.k : t.n;
    const int lda = a_cols + 3, ldb = b_cols + 2, ldc = t.n + 1;
    const std::vector<float> a = random_vector(size_t(a_rows) * lda, 1),
                             b = random_vector(size_t(b_rows) * ldb, 2);
    std::vector<float> c0 = random_vector(size_t(t.m) * ldc, 3);
    if (t.beta == 0.f)  // C's values must not leak through (the padding past n stays as it is)
      for (int i = 0; i < t.m; ++i) std::fill_n(c0.begin() + size_t(i) * ldc, t.n, std::nanf(""));
    std::vector<double> expected(c0.begin(), c0.end());
    for (int i = 0; i < t.m; ++i)
      for (int j = 0; j < t.n; ++j) {
        double sum = 0;
        for (int p = 0; p < t.k; ++p)
          sum += double(t.ta ? a[size_t(p) * lda + i] : a[size_t(i) * lda + p]) *
                 double(t.tb ? b[size_t(j) * ldb + p] : b[size_t(p) * ldb + j]);
        const double c = t.beta == 0.f ? 0.0 : t.beta * double(c0[size_t(i) * ldc + j]);
        expected[size_t(i) * ldc + j] = t.alpha * sum + c;
      }
    for (Gemm gemm : {&uc::sgemm, &uc::sgemm_builtin}) {
      std::vector<float> c = c0;
      gemm(t.ta, t.tb, t.m, t.n, t.k, t.alpha, a.data(), lda, b.data(), ldb, t.beta, c.data(), ldc);
      CHECK_CLOSE(gemm == &uc::sgemm ? "sgemm" : "sgemm_builtin", c, expected, 1e-5, 1e-5);
    }
  }
}

TEST_CASE("layers/linear forward, gradients, accumulation and null gradients") {
  uc::Context ctx(Backend::CPU);
  for (const uc::LinearShape& s : {uc::LinearShape{1, 9, 5}, uc::LinearShape{3, 7, 4}}) {
    const std::string name = "linear n=" + std::to_string(s.n);
    const auto x = random_vector(size_t(s.n) * s.in_features, 16 + s.n);
    const auto w = random_vector(size_t(s.out_features) * s.in_features, 17 + s.n);
    const auto b = random_vector(size_t(s.out_features), 18 + s.n);
    const auto dy = random_vector(size_t(s.n) * s.out_features, 19 + s.n);
    const Tensor xt = cpu({s.n, s.in_features}, x), wt = cpu({s.out_features, s.in_features}, w);
    const Tensor dyt = cpu({s.n, s.out_features}, dy);
    Tensor out = cpu_zeros({s.n, s.out_features});
    uc::linear_forward(ctx, out, xt, wt, cpu({s.out_features}, b), s);
    const Vec xd = to_double(x), wd = to_double(w), bd = to_double(b), dyd = to_double(dy);
    CHECK_CLOSE(name + " out", out.to_host(), linear_ref(xd, wd, bd, s), 1e-5, 1e-4);

    Tensor din = cpu_zeros(xt.shape()), dw = cpu_zeros(wt.shape()),
           db = cpu_zeros({s.out_features});
    uc::linear_backward(ctx, &din, &dw, &db, dyt, xt, wt, s);
    const auto dx_fd =
        numeric_grad([&](const Vec& v) { return linear_ref(v, wd, bd, s); }, xd, dyd);
    const auto dw_fd =
        numeric_grad([&](const Vec& v) { return linear_ref(xd, v, bd, s); }, wd, dyd);
    const auto db_fd =
        numeric_grad([&](const Vec& v) { return linear_ref(xd, wd, v, s); }, bd, dyd);
    CHECK_CLOSE(name + " din", din.to_host(), dx_fd, kAtol, kRtol);
    CHECK_CLOSE(name + " dw", dw.to_host(), dw_fd, kAtol, kRtol);
    CHECK_CLOSE(name + " db", db.to_host(), db_fd, kAtol, kRtol);

    uc::linear_backward(ctx, nullptr, &dw, &db, dyt, xt, wt, s);  // second call adds
    Vec dw2 = dw_fd, db2 = db_fd;
    for (auto& v : dw2) v *= 2;
    for (auto& v : db2) v *= 2;
    CHECK_CLOSE(name + " dw accumulated", dw.to_host(), dw2, kAtol, kRtol);
    CHECK_CLOSE(name + " db accumulated", db.to_host(), db2, kAtol, kRtol);

    Tensor din_only = cpu_zeros(xt.shape());
    uc::linear_backward(ctx, &din_only, nullptr, nullptr, dyt, xt, wt, s);
    CHECK_CLOSE(name + " din alone", din_only.to_host(), din.to_host(), 0, 0);
  }
}

TEST_CASE("layers/dropout is the identity at inference") {
  uc::Context ctx(Backend::CPU);
  const auto x = random_vector(24, 20);
  Tensor out = cpu_zeros({2, 12}), din = cpu_zeros({2, 12});
  Tensor xt = cpu({2, 12}, x);
  uc::dropout_forward(ctx, out, xt);
  CHECK_CLOSE("dropout out", out.to_host(), x, 0, 0);
  uc::dropout_forward(ctx, xt, xt);
  CHECK_CLOSE("dropout in place", xt.to_host(), x, 0, 0);
  uc::dropout_backward(ctx, din, out);
  CHECK_CLOSE("dropout din", din.to_host(), x, 0, 0);
  uc::dropout_backward(ctx, din, din);
  CHECK_CLOSE("dropout din in place", din.to_host(), x, 0, 0);
}

TEST_CASE("layers/batchnorm scale/shift, forward and gradient") {
  uc::Context ctx(Backend::CPU);
  const int c = 3;
  const auto gamma = random_vector(c, 21), beta = random_vector(c, 22), mean = random_vector(c, 23);
  const auto var = random_vector(c, 24, 0.1f, 2.f);
  const float eps = 1e-5f;
  std::vector<float> scale(c), shift(c);
  uc::batchnorm_scale_shift(gamma.data(), beta.data(), mean.data(), var.data(), eps, c,
                            scale.data(), shift.data());
  Vec scale_ref(c), shift_ref(c);
  for (int i = 0; i < c; ++i) {
    scale_ref[i] = gamma[i] / std::sqrt(double(var[i]) + eps);
    shift_ref[i] = beta[i] - mean[i] * scale_ref[i];
  }
  CHECK_CLOSE("bn scale", scale, scale_ref, 1e-6, 1e-6);
  CHECK_CLOSE("bn shift", shift, shift_ref, 1e-6, 1e-6);

  for (const uc::ChannelShape& s : {uc::ChannelShape{2, c, 10}, uc::ChannelShape{4, c, 1}}) {
    const std::string name = "bn hw=" + std::to_string(s.hw);
    const uc::Shape shape{s.n, s.c, s.hw};
    const auto x = random_vector(size_t(shape_numel(shape)), 25), dy = random_vector(x.size(), 26);
    Tensor out = cpu_zeros(shape), din = cpu_zeros(shape);
    const Tensor st = cpu({c}, scale), sh = cpu({c}, shift);
    uc::batchnorm_forward(ctx, out, cpu(shape, x), st, sh, s);
    const Vec sd = to_double(scale), hd = to_double(shift);
    CHECK_CLOSE(name + " out", out.to_host(), batchnorm_ref(to_double(x), sd, hd, s), 1e-6, 1e-5);
    uc::batchnorm_backward(ctx, din, cpu(shape, dy), st, s);
    CHECK_CLOSE(name + " din", din.to_host(),
                numeric_grad([&](const Vec& v) { return batchnorm_ref(v, sd, hd, s); },
                             to_double(x), to_double(dy)),
                kAtol, kRtol);
  }
}

TEST_CASE("layers/batchnorm folded into the convolution equals conv then batchnorm") {
  uc::Context ctx(Backend::CPU);
  const uc::ConvShape s{2, 3, 6, 5, 4, 3, 3, 1, 1};
  const int per_filter = s.c * s.r * s.s;
  const auto x = random_vector(size_t(s.n) * s.c * s.h * s.w, 27);
  auto w = random_vector(size_t(s.k) * per_filter, 28), b = random_vector(size_t(s.k), 29);
  const auto gamma = random_vector(s.k, 30), beta = random_vector(s.k, 31);
  const auto mean = random_vector(s.k, 32), var = random_vector(s.k, 33, 0.1f, 2.f);
  std::vector<float> scale(s.k), shift(s.k);
  uc::batchnorm_scale_shift(gamma.data(), beta.data(), mean.data(), var.data(), 1e-5f, s.k,
                            scale.data(), shift.data());
  const uc::Shape out_shape{s.n, s.k, s.out_h(), s.out_w()};
  const Tensor xt = cpu({s.n, s.c, s.h, s.w}, x);

  Tensor conv_out = cpu_zeros(out_shape), bn_out = cpu_zeros(out_shape);
  uc::conv2d_forward(ctx, conv_out, xt, cpu({s.k, s.c, s.r, s.s}, w), cpu({s.k}, b), s);
  const uc::ChannelShape cs{s.n, s.k, s.out_h() * s.out_w()};
  uc::batchnorm_forward(ctx, bn_out, conv_out, cpu({s.k}, scale), cpu({s.k}, shift), cs);

  uc::batchnorm_fold_into_conv(w.data(), b.data(), s.k, per_filter, scale.data(), shift.data());
  Tensor folded_out = cpu_zeros(out_shape);
  uc::conv2d_forward(ctx, folded_out, xt, cpu({s.k, s.c, s.r, s.s}, w), cpu({s.k}, b), s);
  CHECK_CLOSE("folded", folded_out.to_host(), bn_out.to_host(), 1e-5, 1e-4);
}

TEST_CASE("layers/softmax against the naive formula, with large logits") {
  const int classes = 7;
  const auto x = random_vector(classes, 34, -3.f, 3.f);
  const std::vector<double> p = uc::softmax(x.data(), classes);
  CHECK_CLOSE("softmax", Vec(p.begin(), p.end()), softmax_ref(to_double(x), 1, classes), 1e-15,
              1e-14);
  CHECK(std::accumulate(p.begin(), p.end(), 0.0) == doctest::Approx(1.0).epsilon(1e-15));
  const std::vector<float> large = {1000.f, 1001.f, -1000.f};  // exp(1000) overflows unshifted
  const std::vector<double> q = uc::softmax(large.data(), 3);
  const double e = std::exp(1.0);
  CHECK_CLOSE("softmax large logits", Vec(q.begin(), q.end()), Vec({1 / (1 + e), e / (1 + e), 0}),
              1e-15, 1e-14);
  CHECK_THROWS_AS(uc::softmax(large.data(), 0), uc::Error);
}

// ---- the inference fast path: layouts, fused convolution, NHWC pooling ------------------------

TEST_CASE("layers/convert_layout moves channels last and back") {
  uc::Context ctx(Backend::CPU);
  const int n = 2, c = 3, h = 4, w = 5;
  const auto x = random_vector(size_t(n) * c * h * w, 81);
  Tensor nhwc = cpu_zeros({n, h, w, c}), back = cpu_zeros({n, c, h, w});
  uc::convert_layout(ctx, nhwc, uc::Layout::NHWC, cpu({n, c, h, w}, x), uc::Layout::NCHW, n, c, h,
                     w);
  const std::vector<float> y = nhwc.to_host();
  size_t wrong = 0;
  for (int i = 0; i < n; ++i)
    for (int ch = 0; ch < c; ++ch)
      for (int p = 0; p < h * w; ++p)
        wrong += y[size_t((i * h * w + p) * c + ch)] != x[size_t((i * c + ch) * h * w + p)];
  CHECK(wrong == 0);
  uc::convert_layout(ctx, back, uc::Layout::NCHW, nhwc, uc::Layout::NHWC, n, c, h, w);
  CHECK(back.to_host() == x);
}

TEST_CASE("layers/conv2d_bias_relu_forward equals conv then ReLU, in NCHW and in NHWC") {
  uc::Context ctx(Backend::CPU);
  for (size_t t = 0; t < kConvShapes.size(); ++t) {
    uc::ConvShape s = kConvShapes[t];
    const uc::Shape in_shape{s.n, s.c, s.h, s.w}, w_shape{s.k, s.c, s.r, s.s},
        out_shape{s.n, s.k, s.out_h(), s.out_w()};
    const ConvData data = random_conv_data(s, 90 + t);
    const Tensor x = cpu(in_shape, data.x), w = cpu(w_shape, data.w), b = cpu({s.k}, data.b);
    Tensor expected = cpu_zeros(out_shape), fused = cpu_zeros(out_shape);
    uc::conv2d_forward(ctx, expected, x, w, b, s);
    uc::relu_forward(ctx, expected, expected);
    uc::conv2d_bias_relu_forward(ctx, fused, x, w, b, s);
    CHECK_CLOSE(tag("fused nchw", t), fused.to_host(), expected.to_host(), 0, 0);

    Tensor x_nhwc = cpu_zeros({s.n, s.h, s.w, s.c}), w_krsc = cpu_zeros({s.k, s.r, s.s, s.c});
    Tensor out_nhwc = cpu_zeros({s.n, s.out_h(), s.out_w(), s.k}), back = cpu_zeros(out_shape);
    uc::convert_layout(ctx, x_nhwc, uc::Layout::NHWC, x, uc::Layout::NCHW, s.n, s.c, s.h, s.w);
    uc::convert_layout(ctx, w_krsc, uc::Layout::NHWC, w, uc::Layout::NCHW, s.k, s.c, s.r, s.s);
    s.layout = uc::Layout::NHWC;
    uc::conv2d_bias_relu_forward(ctx, out_nhwc, x_nhwc, w_krsc, b, s);
    uc::convert_layout(ctx, back, uc::Layout::NCHW, out_nhwc, uc::Layout::NHWC, s.n, s.k, s.out_h(),
                       s.out_w());
    CHECK_CLOSE(tag("fused nhwc", t), back.to_host(), expected.to_host(), 0, 0);
    // NCHW only
    CHECK_THROWS_AS(uc::conv2d_forward(ctx, out_nhwc, x_nhwc, w_krsc, b, s), uc::Error);
  }
}

TEST_CASE("layers/maxpool2d forward in NHWC equals NCHW, NaN windows included") {
  uc::Context ctx(Backend::CPU);
  for (uc::PoolShape s : {uc::PoolShape{2, 3, 6, 8, 2, 2}, uc::PoolShape{1, 4, 7, 5, 2, 2},
                          uc::PoolShape{2, 2, 7, 9, 3, 2}}) {
    auto x = random_vector(size_t(s.n) * s.c * s.h * s.w, 121);
    x[5] = NAN;
    x[x.size() - 3] = NAN;
    const Tensor xt = cpu({s.n, s.c, s.h, s.w}, x);
    Tensor expected = cpu_zeros({s.n, s.c, s.out_h(), s.out_w()});
    uc::maxpool2d_forward(ctx, expected, xt, s);
    Tensor x_nhwc = cpu_zeros({s.n, s.h, s.w, s.c}),
           out_nhwc = cpu_zeros({s.n, s.out_h(), s.out_w(), s.c});
    Tensor back = cpu_zeros({s.n, s.c, s.out_h(), s.out_w()});
    uc::convert_layout(ctx, x_nhwc, uc::Layout::NHWC, xt, uc::Layout::NCHW, s.n, s.c, s.h, s.w);
    s.layout = uc::Layout::NHWC;
    uc::maxpool2d_forward(ctx, out_nhwc, x_nhwc, s);
    uc::convert_layout(ctx, back, uc::Layout::NCHW, out_nhwc, uc::Layout::NHWC, s.n, s.c, s.out_h(),
                       s.out_w());
    const std::vector<float> a = back.to_host(), e = expected.to_host();
    size_t wrong = 0;
    for (size_t i = 0; i < a.size(); ++i)
      wrong += !(a[i] == e[i] || (std::isnan(a[i]) && std::isnan(e[i])));
    CHECK(wrong == 0);
  }
}
