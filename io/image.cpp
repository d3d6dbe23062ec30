#include "io/image.h"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"
#include "io/atomic_file.h"

#include <stb_image.h>  // implemented in io/stb.cpp
#include <stb_image_write.h>

namespace uc {
namespace {

const char* stb_reason() {
  const char* r = stbi_failure_reason();
  return r ? r : "unknown error";
}

std::vector<unsigned char> read_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) fail_input("cannot open image '" + path + "': " + std::strerror(errno));
  std::vector<unsigned char> data;
  unsigned char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) data.insert(data.end(), buf, buf + n);
  // A directory opens fine on Linux and only fails here (EISDIR).
  if (std::ferror(f.get())) fail_input("cannot read image '" + path + "': " + std::strerror(errno));
  return data;
}

template <typename T>
Image to_image(const T* pixels, int width, int height, float scale) {
  Image img;
  img.width = width;
  img.height = height;
  img.rgb.resize(size_t(width) * height * 3);
  for (size_t i = 0; i < img.rgb.size(); ++i) img.rgb[i] = pixels[i] * scale;
  return img;
}

// Source taps along one axis for half-pixel-centre sampling of `in` samples onto `out`.
struct Tap {
  int i0, i1;
  float w1;  // weight of i1; i0 gets 1 - w1
};

std::vector<Tap> taps(int in, int out) {
  std::vector<Tap> t(out);
  const double scale = double(in) / out;
  for (int d = 0; d < out; ++d) {
    // Coordinates left of the first centre clamp to it, as PyTorch and OpenCV do.
    const double s = std::max((d + 0.5) * scale - 0.5, 0.0);
    const int i0 = std::min(int(s), in - 1);
    t[d] = {i0, std::min(i0 + 1, in - 1), float(s - i0)};
  }
  return t;
}

// A PNG's size from its IHDR chunk (bytes 16..23, big-endian), read here rather than by stb,
// which refuses an image over 2^30 decoded bytes as an "unknown image type": a decompression
// bomb then gets the pixel-limit message. False when `bytes` do not start as a PNG.
bool png_dimensions(const unsigned char* bytes, size_t size, uint32_t* width, uint32_t* height) {
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size < 24 || std::memcmp(bytes, kSignature, 8) != 0 || std::memcmp(bytes + 12, "IHDR", 4))
    return false;
  const auto be32 = [&](size_t at) {
    return uint32_t(bytes[at]) << 24 | uint32_t(bytes[at + 1]) << 16 |
           uint32_t(bytes[at + 2]) << 8 | uint32_t(bytes[at + 3]);
  };
  *width = be32(16);
  *height = be32(20);
  return true;
}

void check_pixel_limit(const std::string& name, uint64_t w, uint64_t h, size_t max_pixels) {
  const uint64_t pixels = w * h;
  if (pixels > max_pixels)
    fail_input("image '" + name + "' is " + std::to_string(w) + "x" + std::to_string(h) + " = " +
               std::to_string(pixels) + " pixels; the limit is " + std::to_string(max_pixels));
}

void check_image(const Image& img) {
  UC_ASSERT(img.width > 0 && img.height > 0 && img.rgb.size() == size_t(img.width) * img.height * 3,
            "image is " + std::to_string(img.width) + "x" + std::to_string(img.height) + " with " +
                std::to_string(img.rgb.size()) + " values");
}

unsigned char to_byte(float v) {
  if (!(v > 0.f)) return 0;  // also NaN
  if (v >= 1.f) return 255;
  return static_cast<unsigned char>(v * 255.f + 0.5f);
}

}  // namespace

Image load_image(const std::string& path, size_t max_pixels) {
  const std::vector<unsigned char> bytes = read_file(path);
  return load_image_from_memory(bytes.data(), bytes.size(), path, max_pixels);
}

Image load_image_from_memory(const unsigned char* bytes, size_t size, const std::string& name,
                             size_t max_pixels) {
  if (size == 0)
    fail_input("image '" + name + "' is empty (0 bytes); expected a JPEG, PNG or BMP file");
  if (size > size_t(INT_MAX))
    fail_input("image '" + name + "' is " + std::to_string(size) + " bytes; at most " +
               std::to_string(INT_MAX) + " can be decoded");
  const int len = int(size);
  uint32_t png_w = 0, png_h = 0;
  if (png_dimensions(bytes, size, &png_w, &png_h))
    check_pixel_limit(name, png_w, png_h, max_pixels);
  int w = 0, h = 0, channels = 0;
  if (!stbi_info_from_memory(bytes, len, &w, &h, &channels))
    fail_input("'" + name + "' is not a readable image (stb_image: " + stb_reason() +
               "); expected a JPEG, PNG or BMP file");
  check_pixel_limit(name, uint64_t(w), uint64_t(h), max_pixels);

  // Asking for 3 channels makes stb replicate gray and drop alpha.
  Image img;
  int dw = 0, dh = 0;
  if (stbi_is_16_bit_from_memory(bytes, len)) {
    std::unique_ptr<stbi_us, void (*)(void*)> p(
        stbi_load_16_from_memory(bytes, len, &dw, &dh, &channels, 3), &stbi_image_free);
    if (p) img = to_image(p.get(), dw, dh, 1.f / 65535.f);
  } else {
    std::unique_ptr<stbi_uc, void (*)(void*)> p(
        stbi_load_from_memory(bytes, len, &dw, &dh, &channels, 3), &stbi_image_free);
    if (p) img = to_image(p.get(), dw, dh, 1.f / 255.f);
  }
  if (img.rgb.empty())
    fail_input("cannot decode image '" + name + "' (" + std::to_string(w) + "x" +
               std::to_string(h) + "): corrupt or truncated (stb_image: " + stb_reason() + ")");
  return img;
}

Image image_from_rgb8(const unsigned char* rgb, int width, int height) {
  UC_ASSERT(width > 0 && height > 0 && rgb != nullptr, "image_from_rgb8: empty image");
  return to_image(rgb, width, height, 1.f / 255.f);
}

std::vector<unsigned char> image_to_rgb8(const Image& img) {
  check_image(img);
  std::vector<unsigned char> bytes(img.rgb.size());
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = to_byte(img.rgb[i]);
  return bytes;
}

Image resize_bilinear(const Image& img, int width, int height) {
  check_image(img);
  UC_ASSERT(width > 0 && height > 0,
            "resize to " + std::to_string(width) + "x" + std::to_string(height));
  if (width == img.width && height == img.height) return img;
  const std::vector<Tap> tx = taps(img.width, width), ty = taps(img.height, height);
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(size_t(width) * height * 3);
  const size_t row = size_t(img.width) * 3;
  for (int y = 0; y < height; ++y) {
    const float* r0 = &img.rgb[ty[y].i0 * row];
    const float* r1 = &img.rgb[ty[y].i1 * row];
    const float wy1 = ty[y].w1, wy0 = 1.f - wy1;
    float* o = &out.rgb[size_t(y) * width * 3];
    for (int x = 0; x < width; ++x) {
      const int a = tx[x].i0 * 3, b = tx[x].i1 * 3;
      const float wx1 = tx[x].w1, wx0 = 1.f - wx1;
      for (int c = 0; c < 3; ++c)
        o[x * 3 + c] =
            wy0 * (wx0 * r0[a + c] + wx1 * r0[b + c]) + wy1 * (wx0 * r1[a + c] + wx1 * r1[b + c]);
    }
  }
  return out;
}

namespace {
// One output sample's source range [first, first + weights.size()) and normalized weights.
struct FilterTaps {
  int first = 0;
  std::vector<double> weights;
};

// PIL's antialiased bilinear taps for `in` samples onto `out` (its precompute_coeffs): the
// triangle filter of support 1, stretched by the scale factor when shrinking, centred on the
// output sample's centre, evaluated and normalized in double as PIL does.
std::vector<FilterTaps> antialias_taps(int in, int out) {
  const double scale = double(in) / out;
  const double stretch = std::max(scale, 1.0);
  const double support = stretch;  // the triangle's support is 1 sample before stretching
  const double inverse = 1.0 / stretch;
  std::vector<FilterTaps> taps(static_cast<size_t>(out));
  for (int d = 0; d < out; ++d) {
    const double centre = (d + 0.5) * scale;
    // PIL rounds the range's ends to the nearest sample and clips them to the image.
    const int lo = std::max(static_cast<int>(centre - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(centre + support + 0.5), in);
    FilterTaps& t = taps[static_cast<size_t>(d)];
    t.first = lo;
    double sum = 0;
    for (int s = lo; s < hi; ++s) {
      const double x = std::abs((s - centre + 0.5) * inverse);
      t.weights.push_back(x < 1.0 ? 1.0 - x : 0.0);
      sum += t.weights.back();
    }
    if (sum != 0)
      for (double& w : t.weights) w /= sum;
  }
  return taps;
}

// One separable pass over the rows (along_x) or the columns, as PIL computes it on 8-bit images:
// weights in 22-bit fixed point (rounded away from zero), sums rounded to the nearest level and
// clipped to [0, 255].
constexpr int kFixedBits = 22;
std::vector<uint8_t> filter_pass_8bit(const std::vector<uint8_t>& in, int width, int height,
                                      const std::vector<FilterTaps>& taps, bool along_x) {
  const int out_w = along_x ? static_cast<int>(taps.size()) : width;
  const int out_h = along_x ? height : static_cast<int>(taps.size());
  std::vector<std::vector<int32_t>> fixed(taps.size());
  for (size_t d = 0; d < taps.size(); ++d)
    for (double w : taps[d].weights)
      fixed[d].push_back(
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kFixedBits) : 0.5 + w * (1 << kFixedBits)));
  std::vector<uint8_t> out(size_t(out_w) * out_h * 3);
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      const size_t d = static_cast<size_t>(along_x ? x : y);
      for (int c = 0; c < 3; ++c) {
        int32_t acc = 1 << (kFixedBits - 1);
        for (size_t k = 0; k < fixed[d].size(); ++k) {
          const int sx = along_x ? taps[d].first + static_cast<int>(k) : x;
          const int sy = along_x ? y : taps[d].first + static_cast<int>(k);
          acc += in[(size_t(sy) * width + sx) * 3 + c] * fixed[d][k];
        }
        out[(size_t(y) * out_w + x) * 3 + c] =
            static_cast<uint8_t>(std::clamp(acc >> kFixedBits, 0, 255));
      }
    }
  return out;
}

void check_size(int width, int height) {
  UC_ASSERT(width > 0 && height > 0,
            "resize to " + std::to_string(width) + "x" + std::to_string(height));
}
}  // namespace

Image resize_antialiased(const Image& img, int width, int height) {
  check_image(img);
  check_size(width, height);
  if (width == img.width && height == img.height) return img;
  std::vector<uint8_t> bytes = image_to_rgb8(img);
  int w = img.width;
  if (width != img.width) {
    bytes = filter_pass_8bit(bytes, w, img.height, antialias_taps(img.width, width), true);
    w = width;
  }
  if (height != img.height)
    bytes = filter_pass_8bit(bytes, w, img.height, antialias_taps(img.height, height), false);
  return image_from_rgb8(bytes.data(), width, height);
}

Image resize_nearest(const Image& img, int width, int height) {
  check_image(img);
  check_size(width, height);
  if (width == img.width && height == img.height) return img;
  // PIL steps from one output centre to the next by adding in / out, in double: at exact
  // half-way points its accumulated rounding decides the pixel, so this does the same.
  const auto sources = [](int in, int out) {
    std::vector<int> src(static_cast<size_t>(out));
    const double step = double(in) / out;
    double at = step * 0.5;
    for (int d = 0; d < out; ++d, at += step)
      src[size_t(d)] = std::min(static_cast<int>(at), in - 1);
    return src;
  };
  const std::vector<int> sx = sources(img.width, width), sy = sources(img.height, height);
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(size_t(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const float* p = &img.rgb[(size_t(sy[size_t(y)]) * img.width + sx[size_t(x)]) * 3];
      std::copy(p, p + 3, &out.rgb[(size_t(y) * width + x) * 3]);
    }
  return out;
}

std::vector<float> to_normalized_chw(const Image& img, const std::array<float, 3>& mean,
                                     const std::array<float, 3>& std) {
  check_image(img);
  const size_t plane = size_t(img.width) * img.height;
  std::vector<float> out(plane * 3);
  for (int c = 0; c < 3; ++c) {
    UC_ASSERT(std[c] != 0.f, "normalization std is zero for channel " + std::to_string(c));
    const float inv = 1.f / std[c];
    for (size_t i = 0; i < plane; ++i) out[c * plane + i] = (img.rgb[i * 3 + c] - mean[c]) * inv;
  }
  return out;
}

namespace {

// Encodes the image's bytes with one of stb's *_to_func writers and writes the result atomically.
template <typename Encode>
void save_encoded(const std::string& path, const Image& img, const char* format, Encode encode) {
  check_image(img);
  std::vector<unsigned char> pixels(img.rgb.size());
  std::transform(img.rgb.begin(), img.rgb.end(), pixels.begin(), to_byte);
  std::vector<unsigned char> bytes;
  const auto append = [](void* ctx, void* data, int n) {
    auto* out = static_cast<std::vector<unsigned char>*>(ctx);
    out->insert(out->end(), static_cast<unsigned char*>(data),
                static_cast<unsigned char*>(data) + n);
  };
  if (!encode(append, &bytes, pixels.data()))
    fail_input(std::string("cannot encode ") + format + " for '" + path + "' (" +
               std::to_string(img.width) + "x" + std::to_string(img.height) + ")");
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace

void save_png(const std::string& path, const Image& img) {
  save_encoded(path, img, "PNG", [&](stbi_write_func* f, void* ctx, const unsigned char* px) {
    return stbi_write_png_to_func(f, ctx, img.width, img.height, 3, px, img.width * 3);
  });
}

void save_jpeg(const std::string& path, const Image& img, int quality) {
  UC_ASSERT(quality >= 1 && quality <= 100, "save_jpeg: quality " + std::to_string(quality));
  save_encoded(path, img, "JPEG", [&](stbi_write_func* f, void* ctx, const unsigned char* px) {
    return stbi_write_jpg_to_func(f, ctx, img.width, img.height, 3, px, quality);
  });
}

}  // namespace uc
