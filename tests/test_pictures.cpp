// Pictures and reports people look at: image files by extension, the bitmap font, labelled
// grids, the SVG curve chart (parsed back with Python's XML parser) and Markdown/CSV tables.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "io/image.h"
#include "io/render.h"
#include "io/report.h"
#include "tests/check.h"

namespace fs = std::filesystem;
using namespace uc;

namespace {

using uc::test::read_bytes;
using uc::test::TempDir;

Image solid(int width, int height, const std::array<float, 3>& rgb) {
  Image img;
  img.width = width;
  img.height = height;
  for (int i = 0; i < width * height; ++i) img.rgb.insert(img.rgb.end(), rgb.begin(), rgb.end());
  return img;
}

// Smooth colours (JPEG's friendly case) that differ in every pixel and channel.
Image gradient(int width, int height) {
  Image img = solid(width, height, {0, 0, 0});
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      float* p = &img.rgb[(size_t(y) * width + x) * 3];
      p[0] = float(x) / width, p[1] = float(y) / height,
      p[2] = 0.5f + 0.4f * std::sin(0.2f * (x + y));
    }
  return img;
}

std::array<float, 3> pixel(const Image& img, int x, int y) {
  const float* p = &img.rgb[(size_t(y) * img.width + x) * 3];
  return {p[0], p[1], p[2]};
}

// Bilinear weights summing to 1 in float may move a flat colour by an ulp.
bool near(const std::array<float, 3>& a, const std::array<float, 3>& b) {
  for (int c = 0; c < 3; ++c)
    if (std::fabs(a[c] - b[c]) > 1e-5f) return false;
  return true;
}

bool dark(const Image& img, int x, int y) { return pixel(img, x, y)[0] < 0.5f; }

// Pixels inside [x0, x1) x [y0, y1) that satisfy `pred` (which names the image).
template <typename Pred>
int count_in(int x0, int y0, int x1, int y1, Pred pred) {
  int n = 0;
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) n += pred(x, y) ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("pictures/save_image: PNG round trips exactly, JPEG closely, no temporaries left") {
  TempDir dir;
  const Image img = gradient(40, 24);
  save_image(dir / "a.png", img);
  const Image png = load_image(dir / "a.png");
  REQUIRE(png.width == 40);
  REQUIRE(png.height == 24);
  CHECK_CLOSE("png", png.rgb, img.rgb, 0.5 / 255 + 1e-6, 0);

  for (const std::string name : {"b.jpg", "c.JPEG"}) {
    save_image(dir / name, img);
    const Image jpg = load_image(dir / name);
    REQUIRE(jpg.width == 40);
    REQUIRE(jpg.height == 24);
    double err = 0;
    for (size_t i = 0; i < img.rgb.size(); ++i) err += std::fabs(jpg.rgb[i] - img.rgb[i]);
    CHECK(err / img.rgb.size() < 0.02);
  }
  save_image(dir / "a.png", solid(3, 2, {1, 0, 0}));  // replaces the old file in place
  CHECK(load_image(dir / "a.png").width == 3);
  CHECK(dir.entries() == 3);
}

TEST_CASE("pictures/save_image refuses other extensions with a usage error") {
  TempDir dir;
  for (const std::string name : {"map.bmp", "map", "dir.png/map", "map.png.txt"}) {
    CAPTURE(name);
    try {
      save_image(dir / name, solid(2, 2, {0, 0, 0}));
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Usage);
      CHECK(std::string(e.what()).find("expected .png, .jpg or .jpeg") != std::string::npos);
    }
  }
  CHECK(dir.entries() == 0);
}

TEST_CASE("pictures/draw_text marks pixels only inside its box") {
  Image img = solid(80, 30, {1, 1, 1});
  const int w = draw_text(img, 5, 4, "Hi!", 1, {0, 0, 0});
  CHECK(w == text_width("Hi!", 1));
  CHECK(w == 17);  // three 5-pixel glyphs, 1-pixel gaps
  const auto is_dark = [&](int x, int y) { return dark(img, x, y); };
  CHECK(count_in(5, 4, 5 + w, 4 + kFontHeight, is_dark) > 10);
  CHECK(count_in(0, 0, 80, 30, is_dark) == count_in(5, 4, 5 + w, 4 + kFontHeight, is_dark));

  CHECK(text_width("Hi!", 2) == 2 * w);
  CHECK(text_width("", 3) == 0);
  Image big = solid(80, 30, {1, 1, 1});
  CHECK(draw_text(big, 0, 0, "Hi!", 2, {0, 0, 0}) == 2 * w);
  CHECK(count_in(0, 0, 80, 30, [&](int x, int y) { return dark(big, x, y); }) ==
        4 * count_in(0, 0, 80, 30, is_dark));

  // Bytes outside printable ASCII (here UTF-8 for 'é') are drawn as '?'.
  Image a = solid(20, 10, {1, 1, 1}), b = a;
  draw_text(a, 1, 1, "\xC3\xA9", 1, {0, 0, 0});
  draw_text(b, 1, 1, "??", 1, {0, 0, 0});
  CHECK(a.rgb == b.rgb);
}

TEST_CASE("pictures/draw_text clips at every border") {
  Image img = solid(12, 6, {1, 1, 1});
  for (const auto& [x, y] :
       std::vector<std::pair<int, int>>{{-7, -3}, {8, 3}, {-1000, 2}, {3, 1000}, {-6, 0}})
    draw_text(img, x, y, "AB@", 3, {0, 0, 0});
  CHECK(img.rgb.size() == 12 * 6 * 3);
  CHECK(count_in(0, 0, 12, 6, [&](int x, int y) { return dark(img, x, y); }) > 0);
}

TEST_CASE("pictures/make_grid: layout, tiles, labels and letterboxing") {
  const int cell = 64, band = grid_label_band(cell);
  const Image smooth = gradient(30, 30);
  const std::vector<std::vector<GridCell>> rows = {
      {{solid(10, 10, {1, 0, 0}), "red"},
       {smooth, ""},
       {solid(40, 20, {0, 0, 1}), std::string(60, 'W')}},
      {{solid(20, 40, {0, 1, 0}), ""}},
  };
  const Image g = make_grid(rows, cell);
  CHECK(g.width == 3 * (cell + kGridPad) + kGridPad);
  CHECK(g.height == 2 * (band + cell + kGridPad) + kGridPad);
  const auto origin = [&](int r, int c) {  // top-left of tile (r, c), below its label band
    return std::pair<int, int>{kGridPad + c * (cell + kGridPad),
                               kGridPad + r * (band + cell + kGridPad) + band};
  };

  // Tile centres carry the resized image.
  auto [x, y] = origin(0, 0);
  CHECK(near(pixel(g, x + cell / 2, y + cell / 2), std::array<float, 3>{1, 0, 0}));
  std::tie(x, y) = origin(0, 1);
  CHECK(pixel(g, x + cell / 2, y + cell / 2) ==
        pixel(resize_bilinear(smooth, cell, cell), cell / 2, cell / 2));

  // Labels: dark pixels in the band above "red", none above the unlabelled tile, and the long
  // label cut to its tile's width.
  const auto band_dark = [&](int r, int c, int x0, int x1) {
    const auto [tx, ty] = origin(r, c);
    return count_in(tx + x0, ty - band, tx + x1, ty,
                    [&](int px, int py) { return dark(g, px, py); });
  };
  CHECK(band_dark(0, 0, 0, cell) > 0);
  CHECK(band_dark(0, 1, 0, cell) == 0);
  CHECK(band_dark(0, 2, 0, cell) > 0);
  CHECK(band_dark(0, 2, -kGridPad, 0) == 0);
  CHECK(band_dark(0, 2, cell, cell + kGridPad) == 0);

  // 40x20 fills the width and the top half, white below; 20x40 fills the height, centred across.
  std::tie(x, y) = origin(0, 2);
  CHECK(near(pixel(g, x + cell / 2, y + cell - 4), std::array<float, 3>{1, 1, 1}));
  CHECK(near(pixel(g, x + cell / 2, y + cell / 2 - 1), std::array<float, 3>{0, 0, 1}));
  CHECK(near(pixel(g, x + 1, y), std::array<float, 3>{0, 0, 1}));
  CHECK(near(pixel(g, x + cell / 2, y + cell / 2), std::array<float, 3>{1, 1, 1}));
  std::tie(x, y) = origin(1, 0);
  CHECK(near(pixel(g, x + 4, y + cell / 2), std::array<float, 3>{1, 1, 1}));
  CHECK(near(pixel(g, x + cell - 4, y + cell / 2), std::array<float, 3>{1, 1, 1}));
  CHECK(near(pixel(g, x + cell / 2, y + 1), std::array<float, 3>{0, 1, 0}));
  // The short second row leaves white where its missing tiles would be.
  CHECK(near(pixel(g, origin(1, 1).first + cell / 2, origin(1, 1).second + cell / 2),
             std::array<float, 3>{1, 1, 1}));

  // Without any label there is no band at all.
  const Image plain = make_grid({{{smooth, ""}, {smooth, ""}}}, 50);
  CHECK(plain.width == 2 * (50 + kGridPad) + kGridPad);
  CHECK(plain.height == 50 + 2 * kGridPad);
}

TEST_CASE("pictures/svg_line_chart is valid XML with one polyline per series") {
  TempDir dir;
  const std::vector<CurveSeries> series = {
      {"Grad-CAM", {0.1, 0.4, 0.6, 0.87}, 48.123},
      {"A<B & C", {0.87, 0.3, 0.05}, 12.5},
      {"empty", {}, 0},
  };
  const std::string svg =
      svg_line_chart("Insertion <mean>", "fraction of pixels inserted", "score", series);
  CHECK(svg == svg_line_chart("Insertion <mean>", "fraction of pixels inserted", "score", series));
  CHECK(svg.find("Grad-CAM (AUC 48.12)") != std::string::npos);
  CHECK(svg.find("A&lt;B &amp; C (AUC 12.50)") != std::string::npos);
  CHECK(svg.find("Insertion &lt;mean&gt;") != std::string::npos);
  CHECK(svg.find(">1.0</text>") != std::string::npos);  // 0.87 rounds the y axis up to 1.0

  const std::string path = dir / "chart.svg", check = dir / "check.py";
  std::ofstream(path) << svg;
  std::ofstream(check) << "import sys, xml.etree.ElementTree as ET\n"
                          "root = ET.parse(sys.argv[1]).getroot()\n"
                          "ns = '{http://www.w3.org/2000/svg}'\n"
                          "lines = root.findall(ns + \"polyline[@class='series']\")\n"
                          "sys.exit(0 if root.tag == ns + 'svg' and len(lines) == 3 else 1)\n";
  if (fs::exists("/usr/bin/python3"))
    CHECK(std::system(("/usr/bin/python3 '" + check + "' '" + path + "'").c_str()) == 0);
}

TEST_CASE("pictures/markdown_table and csv_table") {
  const Table t = {
      {"Method", "AUC", "Note"},
      {{"Grad-CAM", "12.5", "plain"}, {"Union, CAM", "7", "say \"hi\""}, {"a|b", "-1e-3", ""}}};
  CHECK(markdown_table(t) ==
        "| Method     |   AUC | Note     |\n"
        "| ---------- | ----: | -------- |\n"
        "| Grad-CAM   |  12.5 | plain    |\n"
        "| Union, CAM |     7 | say \"hi\" |\n"
        "| a\\|b       | -1e-3 |          |\n");
  CHECK(csv_table(t) ==
        "Method,AUC,Note\n"
        "Grad-CAM,12.5,plain\n"
        "\"Union, CAM\",7,\"say \"\"hi\"\"\"\n"
        "a|b,-1e-3,\n");
  // A column with any non-number stays left-aligned.
  const Table mixed = {{"n"}, {{"1"}, {"n/a"}}};
  CHECK(markdown_table(mixed) == "| n   |\n| --- |\n| 1   |\n| n/a |\n");
}
