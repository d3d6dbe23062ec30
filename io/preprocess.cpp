#include "io/preprocess.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace uc {

const char* preprocess_name(Preprocess p) {
  switch (p) {
    case Preprocess::Antialias: return "antialias";
    case Preprocess::Torchvision: return "torchvision";
    case Preprocess::Keras: return "keras";
    case Preprocess::Plain: return "plain";
  }
  return "?";
}

const char* preprocess_choices() { return "antialias, torchvision, keras or plain"; }

bool parse_preprocess(const std::string& name, Preprocess* out) {
  for (Preprocess p :
       {Preprocess::Antialias, Preprocess::Torchvision, Preprocess::Keras, Preprocess::Plain})
    if (name == preprocess_name(p)) {
      *out = p;
      return true;
    }
  return false;
}

Preprocess choose_preprocess(const std::string& option, const std::string& file_choice,
                             const std::string& file) {
  Preprocess p = Preprocess::Antialias;
  if (!option.empty()) {
    if (!parse_preprocess(option, &p))
      fail_usage("--preprocess expects " + std::string(preprocess_choices()) + ", got '" + option +
                 "'");
  } else if (!file_choice.empty() && !parse_preprocess(file_choice, &p)) {
    fail_input(file + ": attribute 'preprocess' says '" + file_choice + "'; expected " +
               preprocess_choices());
  }
  return p;
}

namespace {
// torchvision's Resize(size) on a w x h image: the shorter side becomes `size`, the longer one
// size * long / short, truncated (torchvision 0.14's _compute_resized_output_size).
void shorter_side_to(int size, int w, int h, int64_t* out_w, int64_t* out_h) {
  if (w <= h) {
    *out_w = size;
    *out_h = static_cast<int64_t>(double(size) * h / w);
  } else {
    *out_h = size;
    *out_w = static_cast<int64_t>(double(size) * w / h);
  }
}

Image crop(const Image& img, int left, int top, int width, int height) {
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(size_t(width) * height * 3);
  for (int y = 0; y < height; ++y) {
    const float* row = &img.rgb[(size_t(top + y) * img.width + left) * 3];
    std::copy(row, row + size_t(width) * 3, &out.rgb[size_t(y) * width * 3]);
  }
  return out;
}
}  // namespace

ModelImage prepare_model_image(const Image& original, Preprocess p, int width, int height,
                               const std::string& name) {
  ModelImage m;
  switch (p) {
    case Preprocess::Antialias: m.image = resize_antialiased(original, width, height); return m;
    case Preprocess::Keras: m.image = resize_nearest(original, width, height); return m;
    case Preprocess::Plain: m.image = resize_bilinear(original, width, height); return m;
    case Preprocess::Torchvision: break;
  }
  // Resize(256) + CenterCrop(224) scaled to the input size (the larger side for a non-square
  // input, so that the crop always fits).
  const int side = static_cast<int>(std::lround(256.0 * std::max(width, height) / 224.0));
  int64_t rw = 0, rh = 0;
  shorter_side_to(side, original.width, original.height, &rw, &rh);
  if (rw * rh > kMaxResizedPixels)
    fail_input("image '" + name + "' is " + std::to_string(original.width) + "x" +
               std::to_string(original.height) +
               ": the torchvision preprocessing would resize it to " + std::to_string(rw) + "x" +
               std::to_string(rh) + " (the shorter side to " + std::to_string(side) +
               "), more than " + std::to_string(kMaxResizedPixels) +
               " pixels; use --preprocess antialias for so long an image");
  const Image resized = resize_antialiased(original, int(rw), int(rh));
  // CenterCrop: Python's round(), which rounds halves to even, as std::nearbyint does.
  const int left = static_cast<int>(std::nearbyint((rw - width) / 2.0));
  const int top = static_cast<int>(std::nearbyint((rh - height) / 2.0));
  UC_ASSERT(left >= 0 && top >= 0, "centre crop larger than the resized image");
  m.image = crop(resized, left, top, width, height);
  m.region = {double(left) / rw, double(top) / rh, double(left + width) / rw,
              double(top + height) / rh};
  return m;
}

std::vector<uint8_t> mask_for_model(const Image& mask, const ImageRegion& region, int width,
                                    int height) {
  std::vector<uint8_t> out(size_t(width) * height);
  const auto source = [](double lo, double hi, int i, int n, int size) {
    const double at =
        lo == 0 && hi == 1 ? (i + 0.5) * size / n : (lo + (i + 0.5) / n * (hi - lo)) * size;
    return std::clamp(static_cast<int>(at), 0, size - 1);
  };
  for (int y = 0; y < height; ++y) {
    const int sy = source(region.top, region.bottom, y, height, mask.height);
    for (int x = 0; x < width; ++x) {
      const int sx = source(region.left, region.right, x, width, mask.width);
      const float* px = &mask.rgb[(size_t(sy) * mask.width + sx) * 3];
      out[size_t(y) * width + x] = (px[0] > 0 || px[1] > 0 || px[2] > 0) ? 1 : 0;
    }
  }
  return out;
}

}  // namespace uc
