// Image loading (8/16-bit, gray/alpha/RGB, PNG/JPEG/BMP), resize against a naive loop and
// against PyTorch, normalization, atomic PNG writing, bad-file errors, ImageNet class names.
#include <stb_image_write.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "tests/check.h"
#include "weights/imagenet_classes.h"

namespace fs = std::filesystem;
using uc::Image;

namespace {

using uc::test::read_bytes;
using uc::test::TempDir;

void write_bytes(const std::string& path, const void* data, size_t size) {
  std::ofstream(path, std::ios::binary)
      .write(static_cast<const char*>(data), std::streamsize(size));
}

Image make_image(int width, int height, std::vector<float> rgb) {
  Image img;
  img.width = width;
  img.height = height;
  img.rgb = std::move(rgb);
  return img;
}

// 8-bit pixels with every channel distinct, and the floats they stand for.
std::vector<unsigned char> test_bytes(int width, int height, int channels) {
  std::vector<unsigned char> b(size_t(width) * height * channels);
  for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<unsigned char>((i * 37 + 11) % 256);
  return b;
}

std::vector<float> as_rgb(const std::vector<unsigned char>& bytes, int channels) {
  std::vector<float> rgb;
  for (size_t p = 0; p < bytes.size() / channels; ++p)
    for (int c = 0; c < 3; ++c) rgb.push_back(bytes[p * channels + (channels < 3 ? 0 : c)] / 255.f);
  return rgb;
}

// Any uc::Error of kind BadInput whose message names `path`.
template <typename F>
void check_bad_input(F&& load, const std::string& path) {
  bool threw = false;
  try {
    load();
  } catch (const uc::Error& e) {
    threw = true;
    INFO(e.what());
    CHECK(e.kind() == uc::ErrorKind::BadInput);
    CHECK(std::string(e.what()).find(path) != std::string::npos);
  }
  CHECK_MESSAGE(threw, "no error for " << path);
}

// The definition, written out directly: half-pixel centres, clamped at the borders.
Image naive_resize(const Image& in, int width, int height) {
  Image out = make_image(width, height, std::vector<float>(size_t(width) * height * 3));
  const auto at = [&](int x, int y, int c) {
    return double(in.rgb[(size_t(y) * in.width + x) * 3 + c]);
  };
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const double sy = std::max(0.0, (y + 0.5) * in.height / height - 0.5);
      const double sx = std::max(0.0, (x + 0.5) * in.width / width - 0.5);
      const int y0 = int(std::floor(sy)), x0 = int(std::floor(sx));
      const int y1 = std::min(y0 + 1, in.height - 1), x1 = std::min(x0 + 1, in.width - 1);
      const double fy = sy - y0, fx = sx - x0;
      for (int c = 0; c < 3; ++c)
        out.rgb[(size_t(y) * width + x) * 3 + c] =
            float((1 - fy) * ((1 - fx) * at(x0, y0, c) + fx * at(x1, y0, c)) +
                  fy * ((1 - fx) * at(x0, y1, c) + fx * at(x1, y1, c)));
    }
  return out;
}

// The input given to PyTorch for the reference tables: channel c, row y, column x.
Image torch_input(int width, int height) {
  Image img = make_image(width, height, {});
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        img.rgb.push_back(((c * 7 + y * 5 + x * 3 + x * x * y) % 17) / 16.f);
  return img;
}

}  // namespace

TEST_CASE("image/png 8-bit RGB, grayscale and RGBA load as RGB") {
  TempDir dir;
  const int w = 5, h = 3;
  for (int channels : {1, 2, 3, 4}) {
    CAPTURE(channels);
    const std::vector<unsigned char> bytes = test_bytes(w, h, channels);
    const std::string path = dir / ("c" + std::to_string(channels) + ".png");
    REQUIRE(stbi_write_png(path.c_str(), w, h, channels, bytes.data(), w * channels));
    const Image img = uc::load_image(path);
    CHECK(img.width == w);
    CHECK(img.height == h);
    // Gray is replicated, alpha dropped.
    CHECK_CLOSE("png", img.rgb, as_rgb(bytes, channels), 1e-6, 0);
  }
}

TEST_CASE("image/png 16-bit keeps its precision") {
  // The values written by scripts/make_image_fixtures.py (RGB16, GRAY_ALPHA16).
  const std::vector<int> rgb16 = {0,   1,   65535, 257,   12345, 40000, 65534, 32768, 2,
                                  100, 200, 300,   54321, 11111, 22222, 65535, 0,     777};
  const std::vector<int> gray16 = {3, 30000, 65535, 4242};
  std::vector<float> expected_rgb, expected_gray;
  for (int v : rgb16) expected_rgb.push_back(v / 65535.f);
  for (int v : gray16)
    for (int c = 0; c < 3; ++c) expected_gray.push_back(v / 65535.f);

  const Image rgb =
      uc::load_image(uc::test::source_path("tests/fixtures/images/png16/rgb16_3x2.png"));
  CHECK(rgb.width == 3);
  CHECK(rgb.height == 2);
  // 1e-7 is far below 1/255: an 8-bit path would fail here.
  CHECK_CLOSE("rgb16", rgb.rgb, expected_rgb, 1e-7, 0);

  const Image gray =
      uc::load_image(uc::test::source_path("tests/fixtures/images/png16/gray_alpha16_2x2.png"));
  CHECK(gray.width == 2);
  CHECK(gray.height == 2);
  CHECK_CLOSE("gray+alpha16", gray.rgb, expected_gray, 1e-7, 0);
}

TEST_CASE("image/bmp exact, jpeg approximate, memory same as file") {
  TempDir dir;
  const int w = 16, h = 12;
  // A smooth image, so JPEG's error stays small.
  std::vector<unsigned char> bytes;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        bytes.push_back(static_cast<unsigned char>(40 + 8 * x + 6 * y + 30 * c));
  const std::vector<float> expected = as_rgb(bytes, 3);

  const std::string bmp = dir / "a.bmp";
  REQUIRE(stbi_write_bmp(bmp.c_str(), w, h, 3, bytes.data()));
  const Image from_bmp = uc::load_image(bmp);
  CHECK(from_bmp.width == w);
  CHECK(from_bmp.height == h);
  CHECK_CLOSE("bmp", from_bmp.rgb, expected, 1e-6, 0);

  const std::string jpg = dir / "a.jpg";
  REQUIRE(stbi_write_jpg(jpg.c_str(), w, h, 3, bytes.data(), 95));
  const Image from_jpg = uc::load_image(jpg);
  CHECK(from_jpg.width == w);
  CHECK(from_jpg.height == h);
  // Lossy: a few values near the colour edges move by up to ~0.05, the average far less.
  CHECK_CLOSE("jpeg", from_jpg.rgb, expected, 0.08, 0);
  double mean_error = 0;
  for (size_t i = 0; i < expected.size(); ++i)
    mean_error += std::fabs(from_jpg.rgb[i] - expected[i]);
  CHECK(mean_error / expected.size() < 0.01);

  const std::vector<unsigned char> file = read_bytes(jpg);
  const Image from_memory = uc::load_image_from_memory(file.data(), file.size(), "in memory");
  CHECK(from_memory.rgb == from_jpg.rgb);
}

TEST_CASE("image/save_png round trip, overwrite, no temporary left") {
  TempDir dir;
  const std::string path = dir / "out.png";
  Image img = make_image(4, 2, {});
  for (int i = 0; i < 24; ++i) img.rgb.push_back(i * 11 / 255.f);
  img.rgb[0] = -0.5f;  // clamped to 0
  img.rgb[1] = 2.f;    // clamped to 1
  img.rgb[2] = NAN;    // written as 0
  write_bytes(path, "old", 3);
  uc::save_png(path, img);

  std::vector<float> expected = img.rgb;
  expected[0] = 0, expected[1] = 1, expected[2] = 0;
  const Image back = uc::load_image(path);
  CHECK(back.width == 4);
  CHECK(back.height == 2);
  CHECK_CLOSE("save_png", back.rgb, expected, 1e-6, 0);
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);

  // An output that cannot be written is an output error (exit 4), not a bad input.
  const std::string missing_dir = dir / "no/such/folder/out.png";
  try {
    uc::save_png(missing_dir, img);
    FAIL("no error writing into a missing folder");
  } catch (const uc::Error& e) {
    CHECK(e.kind() == uc::ErrorKind::Output);
    CHECK(std::string(e.what()).find(missing_dir) != std::string::npos);
  }
  CHECK(std::distance(fs::directory_iterator(dir.path), fs::directory_iterator()) == 1);
}

TEST_CASE("image/resize matches a naive loop") {
  const Image in = make_image(13, 7, uc::test::random_vector(13 * 7 * 3, 42, 0.f, 1.f));
  for (auto [w, h] : {std::pair{26, 14}, {5, 3}, {5, 20}, {40, 2}, {1, 1}, {13, 8}}) {
    CAPTURE(w);
    CAPTURE(h);
    const Image out = uc::resize_bilinear(in, w, h);
    CHECK(out.width == w);
    CHECK(out.height == h);
    CHECK_CLOSE("resize", out.rgb, naive_resize(in, w, h).rgb, 1e-6, 1e-6);
  }
}

TEST_CASE("image/resize matches PyTorch F.interpolate bilinear") {
  // Computed once with PyTorch 1.13 for the input of torch_input():
  //   x[c, y, x] = ((c*7 + y*5 + x*3 + x*x*y) % 17) / 16, float32, shape [1, 3, H, W]
  //   F.interpolate(x, size=(oh, ow), mode='bilinear', align_corners=False)[0].permute(1, 2, 0)
  const std::vector<float> up_3x4_to_5x7 = {
      0.f,          0.4375f,      0.875f,        0.066964291f, 0.504464269f, 0.56249994f,
      0.174107149f, 0.611607194f, 0.0624999702f, 0.28125003f,  0.71875f,     0.0937500224f,
      0.388392895f, 0.825892925f, 0.200892881f,  0.495535761f, 0.933035731f, 0.308035731f,
      0.5625f,      1.f,          0.375f,        0.125000015f, 0.5625f,      0.574999988f,
      0.200892881f, 0.638392866f, 0.423214227f,  0.322321445f, 0.759821475f, 0.180357143f,
      0.46875006f,  0.693749964f, 0.28125006f,   0.591964304f, 0.634821475f, 0.404464304f,
      0.527678549f, 0.813392878f, 0.340178549f,  0.487499982f, 0.924999952f, 0.299999982f,
      0.31250003f,  0.74999994f,  0.125000015f,  0.401785761f, 0.839285672f, 0.214285731f,
      0.544642866f, 0.982142806f, 0.357142895f,  0.75000006f,  0.656249881f, 0.56250006f,
      0.897321403f, 0.348214388f, 0.709821403f,  0.575892746f, 0.633928657f, 0.388392717f,
      0.375f,       0.8125f,      0.187499985f,  0.50000006f,  0.299999952f, 0.31250003f,
      0.602678597f, 0.402678519f, 0.415178597f,  0.766964316f, 0.566964269f, 0.579464316f,
      0.712499976f, 0.618749976f, 0.524999976f,  0.610714197f, 0.653571546f, 0.423214227f,
      0.396428466f, 0.682142854f, 0.208928481f,  0.262499988f, 0.699999988f, 0.0749999881f,
      0.625f,       0.f,          0.4375f,       0.736607134f, 0.111607157f, 0.549107134f,
      0.915178537f, 0.290178597f, 0.727678597f,  0.68749994f,  0.59375006f,  0.49999994f,
      0.419642836f, 0.857142866f, 0.232142836f,  0.276785672f, 0.714285672f, 0.0892856717f,
      0.1875f,      0.625f,       0.f,
  };
  const std::vector<float> down_6x6_to_4x4 = {
      0.12890625f, 0.56640625f, 0.5390625f,  0.45703125f, 0.6953125f,  0.26953125f, 0.58984375f,
      0.76171875f, 0.40234375f, 0.859375f,   0.234375f,   0.671875f,   0.62109375f, 0.26171875f,
      0.43359375f, 0.6328125f,  0.671875f,   0.4453125f,  0.2734375f,  0.64453125f, 0.0859375f,
      0.47265625f, 0.64453125f, 0.28515625f, 0.6484375f,  0.421875f,   0.4609375f,  0.7421875f,
      0.515625f,   0.5546875f,  0.2890625f,  0.4609375f,  0.69921875f, 0.41796875f, 0.58984375f,
      0.23046875f, 0.54296875f, 0.71484375f, 0.35546875f, 0.3203125f,  0.4921875f,  0.73046875f,
      0.76953125f, 0.14453125f, 0.58203125f, 0.828125f,   0.203125f,   0.640625f,
  };
  CHECK_CLOSE("3x4 -> 5x7", uc::resize_bilinear(torch_input(4, 3), 7, 5).rgb, up_3x4_to_5x7, 1e-6,
              1e-6);
  CHECK_CLOSE("6x6 -> 4x4", uc::resize_bilinear(torch_input(6, 6), 4, 4).rgb, down_6x6_to_4x4, 1e-6,
              1e-6);
}

TEST_CASE("image/resize to the same size is an exact copy") {
  const Image in = make_image(9, 4, uc::test::random_vector(9 * 4 * 3, 7, 0.f, 1.f));
  const Image out = uc::resize_bilinear(in, 9, 4);
  CHECK(out.width == 9);
  CHECK(out.height == 4);
  CHECK(out.rgb == in.rgb);
}

TEST_CASE("image/normalized CHW planes") {
  // Two pixels: (0.1, 0.5, 0.9) and (1.0, 0.0, 0.25).
  const Image img = make_image(2, 1, {0.1f, 0.5f, 0.9f, 1.f, 0.f, 0.25f});
  const std::array<float, 3> mean = {0.485f, 0.456f, 0.406f}, std = {0.229f, 0.224f, 0.225f};
  const std::vector<float> expected = {
      (0.1f - 0.485f) / 0.229f, (1.f - 0.485f) / 0.229f,    // R plane
      (0.5f - 0.456f) / 0.224f, (0.f - 0.456f) / 0.224f,    // G plane
      (0.9f - 0.406f) / 0.225f, (0.25f - 0.406f) / 0.225f,  // B plane
  };
  CHECK_CLOSE("chw", uc::to_normalized_chw(img, mean, std), expected, 1e-6, 1e-6);
}

TEST_CASE("image/bad files are BadInput errors naming the path") {
  TempDir dir;
  const std::string missing = dir / "missing.png";
  check_bad_input([&] { uc::load_image(missing); }, missing);

  const std::string empty = dir / "empty.png";
  write_bytes(empty, "", 0);
  check_bad_input([&] { uc::load_image(empty); }, empty);

  const std::string text = dir / "text.png";
  const std::string words = "this is not an image\n";
  write_bytes(text, words.data(), words.size());
  check_bad_input([&] { uc::load_image(text); }, text);

  const std::vector<unsigned char> png =
      read_bytes(uc::test::source_path("tests/fixtures/images/shapes_64.png"));
  REQUIRE(png.size() > 1000);
  const std::string truncated = dir / "truncated.png";
  write_bytes(truncated, png.data(), png.size() / 2);
  check_bad_input([&] { uc::load_image(truncated); }, truncated);

  const std::string big = dir / "big.png";
  write_bytes(big, png.data(), png.size());
  CHECK(uc::load_image(big, 64 * 64).width == 64);
  check_bad_input([&] { uc::load_image(big, 64 * 64 - 1); }, big);

  check_bad_input([&] { uc::load_image(dir.path.string()); }, dir.path.string());
  check_bad_input([&] { uc::load_image_from_memory(png.data(), 0, "no bytes"); }, "no bytes");
}

// A PNG that is only a header: signature, IHDR (width x height, 8-bit RGB) and IEND, with the
// chunks' CRCs. Enough for the header check, which must judge it before anything is decoded.
std::vector<unsigned char> png_header_only(uint32_t width, uint32_t height) {
  const auto crc32 = [](const unsigned char* p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; ++i) {
      c ^= p[i];
      for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
  };
  std::vector<unsigned char> png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  const auto put32 = [&](uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
      png.push_back(static_cast<unsigned char>(v >> shift));
  };
  const auto chunk = [&](const char* type, const std::vector<unsigned char>& data) {
    put32(uint32_t(data.size()));
    const size_t start = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), data.begin(), data.end());
    put32(crc32(png.data() + start, png.size() - start));
  };
  std::vector<unsigned char> ihdr;
  for (uint32_t v : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8)
      ihdr.push_back(static_cast<unsigned char>(v >> shift));
  ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});  // 8 bits, RGB, deflate, no filter, no interlace
  chunk("IHDR", ihdr);
  chunk("IEND", {});
  return png;
}

TEST_CASE("image/absurd headers: no pixels, 20000x20000, 10^6 x 1") {
  // A decompression bomb's header (400 million pixels, 1.2 GB decoded) is refused from the
  // header alone, by --max-pixels; a 0x0 header is not an image.
  const std::vector<unsigned char> bomb = png_header_only(20000, 20000);
  CHECK(bomb.size() < 100);
  CHECK_THROWS_WITH_AS(uc::load_image_from_memory(bomb.data(), bomb.size(), "bomb.png"),
                       doctest::Contains("20000x20000 = 400000000 pixels; the limit is 100000000"),
                       uc::Error);
  const std::vector<unsigned char> empty = png_header_only(0, 0);
  check_bad_input([&] { uc::load_image_from_memory(empty.data(), empty.size(), "0x0.png"); },
                  "0x0.png");
  // A million pixels in one row is a real image, within the limit: it loads and resizes.
  TempDir dir;
  const std::string row = dir / "row.png";
  const std::vector<unsigned char> pixels = test_bytes(1000000, 1, 3);
  REQUIRE(stbi_write_png(row.c_str(), 1000000, 1, 3, pixels.data(), 3000000));
  const Image img = uc::load_image(row);
  CHECK(img.width == 1000000);
  CHECK(img.height == 1);
  const Image small = uc::resize_bilinear(img, 224, 224);
  CHECK(small.rgb.size() == size_t(224) * 224 * 3);
  for (uc::Preprocess p : {uc::Preprocess::Antialias, uc::Preprocess::Keras})
    CHECK(uc::prepare_model_image(img, p, 224, 224).image.width == 224);
  // torchvision's shorter side to 256 would make it 256 x 256,000,000: refused, naming it.
  check_bad_input([&] { uc::prepare_model_image(img, uc::Preprocess::Torchvision, 224, 224, row); },
                  "resize it to 256000000x256");
}

TEST_CASE("image/imagenet class names") {
  const std::vector<std::string>& names = uc::imagenet_class_names();
  REQUIRE(names.size() == 1000);
  CHECK(names[0] == "tench");
  CHECK(names[1] == "goldfish");
  CHECK(names[281] == "tabby");
  CHECK(names[285] == "Egyptian cat");
  CHECK(names[607] == "jack-o'-lantern");
  CHECK(names[999] == "toilet tissue");
}
