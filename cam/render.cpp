#include "cam/render.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/error.h"

namespace uc {

void jet_color(float v, float rgb[3]) {
  v = std::clamp(v, 0.f, 1.f);
  // Piecewise-linear JET: each channel is a trapezoid over [0,1].
  auto ramp = [v](float centre) { return std::clamp(1.5f - std::fabs(4.f * v - centre), 0.f, 1.f); };
  rgb[0] = ramp(3.f);
  rgb[1] = ramp(2.f);
  rgb[2] = ramp(1.f);
}

Image overlay_map(const Image& image, const std::vector<float>& map, int map_w, int map_h, float alpha) {
  UC_ASSERT(static_cast<int64_t>(map.size()) == int64_t(map_w) * map_h, "overlay_map: map size");
  Image as_image;
  as_image.width = map_w;
  as_image.height = map_h;
  as_image.rgb.resize(map.size() * 3);
  for (size_t i = 0; i < map.size(); ++i) as_image.rgb[3 * i] = map[i];
  const Image resized = resize_bilinear(as_image, image.width, image.height);
  Image out = image;
  for (size_t p = 0; p < out.rgb.size() / 3; ++p) {
    float c[3];
    jet_color(resized.rgb[3 * p], c);
    for (int k = 0; k < 3; ++k) out.rgb[3 * p + k] = (1.f - alpha) * image.rgb[3 * p + k] + alpha * c[k];
  }
  return out;
}

void save_npy(const std::string& path, const std::vector<float>& values, int height, int width) {
  UC_ASSERT(static_cast<int64_t>(values.size()) == int64_t(height) * width, "save_npy: size");
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(height) +
                       ", " + std::to_string(width) + "), }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of
  // 64 and ended by a newline, as NumPy writes it.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>(header.size() >> 8);
  bytes += header;
  const size_t data_at = bytes.size();
  bytes.resize(data_at + values.size() * sizeof(float));
  std::memcpy(&bytes[data_at], values.data(), values.size() * sizeof(float));  // x86-64: little-endian
  write_file_atomic(path, bytes.data(), bytes.size());
}

}  // namespace uc
