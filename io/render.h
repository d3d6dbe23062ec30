// Turning explanation maps into files people and programs read: a JET-coloured overlay on the
// image, the raw map as a NumPy .npy array, and labelled picture grids (built-in bitmap font).
#pragma once
#include <array>
#include <string>
#include <vector>

#include "io/image.h"
#include "io/preprocess.h"

namespace uc {

// OpenCV's COLORMAP_JET: value in [0,1] -> RGB in [0,1] (blue, cyan, yellow, red).
void jet_color(float value, float rgb[3]);

// A map (map_w x map_h, row-major) resized bilinearly to width x height, as resize_bilinear
// resizes an image (an exact copy when the size already matches).
std::vector<float> resize_map(const std::vector<float>& map, int map_w, int map_h, int width,
                              int height);

// The map (map_w x map_h) over a width x height image whose `region` the model saw
// (io/preprocess.h): resized bilinearly into the region's pixels, 0 outside it.
struct PixelRect {
  int x0, y0, x1, y1;  // [x0, x1) x [y0, y1)
};
PixelRect region_pixels(const ImageRegion& region, int width, int height);
std::vector<float> map_over_image(const std::vector<float>& map, int map_w, int map_h, int width,
                                  int height, const ImageRegion& region);

// The map (map_w x map_h, values in [0,1]) resized bilinearly to the image's size (or into the
// region the model saw), coloured with JET and blended there:
// out = (1 - alpha) * image + alpha * jet(map); outside the region the image is left as it is.
Image overlay_map(const Image& image, const std::vector<float>& map, int map_w, int map_h,
                  float alpha = 0.5f, const ImageRegion& region = {});

// float32 little-endian array of shape [height, width], NumPy format 1.0; written atomically.
void save_npy(const std::string& path, const std::vector<float>& values, int height, int width);

// Chooses the format by the extension (case-insensitive): .png (8-bit RGB) or .jpg/.jpeg
// (quality 95); written atomically. Any other extension is a Usage error.
void save_image(const std::string& path, const Image& img);

// Text with the built-in 5x8 bitmap font (printable ASCII; any other byte is drawn as '?').
// Glyphs advance 6 font pixels and stand kFontHeight tall, descenders included; every font pixel
// becomes a scale x scale square. draw_text puts the top-left corner at (x, y), clips at the
// image border and returns text_width(text, scale): the width from the first glyph's left edge to
// the last one's right edge (0 for "").
constexpr int kFontHeight = 8;
int draw_text(Image& img, int x, int y, const std::string& text, int scale,
              const std::array<float, 3>& rgb);
int text_width(const std::string& text, int scale);

// One tile of make_grid: the image and the label drawn above it (may be empty).
struct GridCell {
  Image image;
  std::string label;
};

// A white sheet of tiles, one line of tiles per row, short rows left-aligned. Each image is
// resized bilinearly to fit cell_size x cell_size, keeping its aspect ratio, centred across and
// top-aligned (directly under its label) on white. When any cell has a label, every tile gets a
// label band above it (dark text, centred, cut with "..." when too long; 16 px tall text at the
// default size). With C the longest row's length and R the number of rows:
//   width  = C * (cell_size + kGridPad) + kGridPad
//   height = R * (grid_label_band(cell_size) + cell_size + kGridPad) + kGridPad
// where the band is 0 when no cell has a label.
constexpr int kGridPad = 6;
int grid_label_band(int cell_size);
Image make_grid(const std::vector<std::vector<GridCell>>& rows, int cell_size = 224);

}  // namespace uc
