// Test helpers shared by every suite: one closeness check that reports the worst element and
// the number of failures in a single assertion, fixtures paths, random data, and the GPU skip.
#pragma once
#include <doctest/doctest.h>

#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/context.h"
#include "core/tensor.h"

namespace uc::test {

struct CloseReport {
  bool ok = true;
  std::string message;
};

// |actual - expected| <= atol + rtol * |expected| element-wise; NaN anywhere fails.
template <typename A, typename E>
CloseReport compare_close(const std::string& name, const A& actual, const E& expected, double atol,
                          double rtol) {
  CloseReport r;
  std::ostringstream o;
  if (actual.size() != expected.size()) {
    r.ok = false;
    o << name << ": size " << actual.size() << " != expected " << expected.size();
    r.message = o.str();
    return r;
  }
  size_t failures = 0, worst = 0;
  double worst_excess = -1;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    const double err = std::fabs(a - e), allowed = atol + rtol * std::fabs(e);
    const bool bad = !(err <= allowed);  // catches NaN
    if (bad) ++failures;
    const double excess = std::isnan(err) ? INFINITY : err - allowed;
    if (excess > worst_excess) worst_excess = excess, worst = i;
  }
  r.ok = failures == 0;
  o << name << ": " << failures << " of " << actual.size() << " elements outside atol=" << atol
    << " rtol=" << rtol;
  if (!actual.empty())
    o << "; worst at [" << worst << "]: actual " << actual[worst] << ", expected "
      << expected[worst];
  r.message = o.str();
  return r;
}

#define CHECK_CLOSE(name, actual, expected, atol, rtol)                                    \
  do {                                                                                     \
    const auto uc_report_ = ::uc::test::compare_close(name, actual, expected, atol, rtol); \
    INFO(uc_report_.message);                                                              \
    CHECK_MESSAGE(uc_report_.ok, uc_report_.message);                                      \
  } while (0)

inline std::vector<float> random_vector(size_t n, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(gen);
  return v;
}

// The largest magnitude: the scale of "relative to the largest element" tolerances.
inline double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float e : v) m = std::max(m, static_cast<double>(std::fabs(e)));
  return m;
}

// A CPU tensor of uniform random values in [lo, hi).
inline Tensor random_cpu(const Shape& shape, uint32_t seed, float lo = -1.f, float hi = 1.f) {
  return Tensor::from_host(Backend::CPU, shape,
                           random_vector(static_cast<size_t>(shape_numel(shape)), seed, lo, hi));
}

// A copy of `t` on the CUDA backend (for CUDA-against-CPU tests).
inline Tensor to_cuda(const Tensor& t) {
  return Tensor::from_host(Backend::CUDA, t.shape(), t.to_host());
}

inline std::string source_path(const std::string& relative) {
  return std::string(UNIONCAM_SOURCE_DIR) + "/" + relative;
}

// A fresh folder under the system temp dir, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "uc_test_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
  size_t entries() const {
    return size_t(std::distance(std::filesystem::directory_iterator(path),
                                std::filesystem::directory_iterator()));
  }
};

inline std::vector<unsigned char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Decorator for test cases that need a GPU: doctest reports them as skipped without one.
inline bool no_gpu() { return !uc::cuda_device_available(); }
#define UC_NEEDS_GPU doctest::skip(::uc::test::no_gpu())

}  // namespace uc::test
