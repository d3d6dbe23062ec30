// Preprocessing (io/preprocess.h): the resize filters against naive references, the crop
// geometry, masks and overlays of a cropped run; and against PIL and torchvision themselves when
// tests/preprocess_test.sh has written their results (UNIONCAM_PIL_CASES).
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "io/render.h"
#include "tests/check.h"

using namespace uc;

namespace {

Image random_image(int w, int h, uint32_t seed) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb = test::random_vector(size_t(w) * h * 3, seed, 0.f, 1.f);
  return img;
}

// PIL's antialiased bilinear resize written directly as a 2-D weighted sum in double: for each
// output pixel, the product of the two axes' triangle weights over the source pixels in range.
Image naive_antialias(const Image& img, int width, int height) {
  const auto axis = [](int in, int out, int d, std::vector<double>* w) {
    const double scale = double(in) / out, stretch = std::max(scale, 1.0);
    const double centre = (d + 0.5) * scale;
    w->assign(size_t(in), 0.0);
    double sum = 0;
    for (int s = 0; s < in; ++s) {
      // PIL's range: the source pixels whose index lies in [centre - support, centre + support),
      // both ends rounded to the nearest pixel.
      if (s < int(centre - stretch + 0.5) || s >= int(centre + stretch + 0.5)) continue;
      const double x = std::abs(s + 0.5 - centre) / stretch;
      (*w)[size_t(s)] = x < 1 ? 1 - x : 0;
      sum += (*w)[size_t(s)];
    }
    for (double& v : *w) v /= sum;
  };
  Image out;
  out.width = width;
  out.height = height;
  out.rgb.resize(size_t(width) * height * 3);
  std::vector<double> wx, wy;
  for (int y = 0; y < height; ++y) {
    axis(img.height, height, y, &wy);
    for (int x = 0; x < width; ++x) {
      axis(img.width, width, x, &wx);
      for (int c = 0; c < 3; ++c) {
        double acc = 0;
        for (int sy = 0; sy < img.height; ++sy)
          for (int sx = 0; sx < img.width; ++sx)
            acc += wy[size_t(sy)] * wx[size_t(sx)] * img.rgb[(size_t(sy) * img.width + sx) * 3 + c];
        out.rgb[(size_t(y) * width + x) * 3 + c] = static_cast<float>(acc);
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("preprocess/the antialiased resize is the naive 2-D sum, to PIL's 8-bit rounding") {
  // 8-bit values, as decoded files hold: the resize works on them as PIL does.
  Image img = random_image(23, 17, 3);
  for (float& v : img.rgb) v = std::round(v * 255) / 255;
  for (const auto& [w, h] : std::vector<std::pair<int, int>>{
           {7, 5}, {11, 17}, {23, 9}, {40, 31}, {69, 51}, {5, 40}, {23, 17}}) {
    CAPTURE(w);
    CAPTURE(h);
    const Image got = resize_antialiased(img, w, h);
    REQUIRE(got.width == w);
    REQUIRE(got.height == h);
    // PIL rounds to 8 bits after each pass: within one level of the exact sum.
    CHECK_CLOSE("antialias", got.rgb, naive_antialias(img, w, h).rgb, 1.0 / 255 + 1e-6, 0);
  }
  // The same size is the image itself; a constant image stays constant.
  CHECK(resize_antialiased(img, 23, 17).rgb == img.rgb);
  Image flat = img;
  std::fill(flat.rgb.begin(), flat.rgb.end(), 64.f / 255);
  for (float v : resize_antialiased(flat, 9, 30).rgb) CHECK(v == 64.f / 255);
}

TEST_CASE("preprocess/nearest takes the source pixel under each output centre") {
  const Image img = random_image(10, 7, 4);
  const Image got = resize_nearest(img, 4, 9);
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 4; ++x) {
      const int sx = int((x + 0.5) * 10 / 4), sy = int((y + 0.5) * 7 / 9);  // no exact halves
      for (int c = 0; c < 3; ++c)
        CHECK(got.rgb[(size_t(y) * 4 + x) * 3 + c] == img.rgb[(size_t(sy) * 10 + sx) * 3 + c]);
    }
}

TEST_CASE("preprocess/torchvision: shorter side to 256 * input / 224, then the centre crop") {
  // chelsea's size: 451 x 300 -> Resize(256) gives 384 x 256 (256 * 451 / 300 = 384.85,
  // truncated); the crop starts at round((384 - 224) / 2) = 80 across, 16 down.
  const Image img = random_image(451, 300, 5);
  const ModelImage m = prepare_model_image(img, Preprocess::Torchvision, 224, 224);
  CHECK(m.image.width == 224);
  CHECK(m.image.height == 224);
  CHECK(m.region.left == doctest::Approx(80.0 / 384));
  CHECK(m.region.right == doctest::Approx(304.0 / 384));
  CHECK(m.region.top == doctest::Approx(16.0 / 256));
  CHECK(m.region.bottom == doctest::Approx(240.0 / 256));
  const Image resized = resize_antialiased(img, 384, 256);
  CHECK(m.image.rgb[0] == resized.rgb[(size_t(16) * 384 + 80) * 3]);
  // Python's round() takes halves to even: 225 - 128 = 97 -> 48.5 -> 48.
  const ModelImage odd = prepare_model_image(random_image(225, 146, 6), Preprocess::Torchvision,
                                             128, 128);  // 146 -> 146 x 225 stays
  CHECK(odd.region.left == doctest::Approx(48.0 / 225));
  // The other presets see the whole image.
  for (Preprocess p : {Preprocess::Antialias, Preprocess::Keras, Preprocess::Plain})
    CHECK(prepare_model_image(img, p, 64, 64).region.whole());
  CHECK(prepare_model_image(img, Preprocess::Plain, 64, 64).image.rgb ==
        resize_bilinear(img, 64, 64).rgb);
}

TEST_CASE("preprocess/the choice: the option, else the file's attribute, else antialias") {
  CHECK(choose_preprocess("", "", "w.h5") == Preprocess::Antialias);
  CHECK(choose_preprocess("", "keras", "w.h5") == Preprocess::Keras);
  CHECK(choose_preprocess("plain", "keras", "w.h5") == Preprocess::Plain);
  try {
    choose_preprocess("pil", "", "w.h5");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(std::string(e.what()).find("torchvision") != std::string::npos);
  }
  try {
    choose_preprocess("", "caffe", "w.h5");
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK(std::string(e.what()).find("w.h5: attribute 'preprocess' says 'caffe'") !=
          std::string::npos);
  }
}

TEST_CASE("preprocess/a mask and an overlay of a cropped run follow the crop") {
  // A 40 x 20 image whose model sees its middle half across.
  const ImageRegion region{0.25, 0, 0.75, 1};
  Image mask;
  mask.width = 40;
  mask.height = 20;
  mask.rgb.assign(40 * 20 * 3, 0.f);
  for (int y = 0; y < 20; ++y) mask.rgb[(size_t(y) * 40 + 12) * 3] = 1.f;  // column 12 = object
  // Model column x samples source column int((0.25 + (x + 0.5) / 10 * 0.5) * 40) = 11, 13, ...,
  // 29 with the crop, and int((x + 0.5) * 40 / 10) = 2, 6, ..., 38 without it.
  const std::vector<uint8_t> cropped = mask_for_model(mask, region, 10, 10);
  for (int x = 0; x < 10; ++x) CHECK(cropped[size_t(x)] == 0);  // column 12 is under no centre
  mask.rgb.assign(40 * 20 * 3, 0.f);
  for (int y = 0; y < 20; ++y) mask.rgb[(size_t(y) * 40 + 11) * 3] = 1.f;  // now column 11
  CHECK(mask_for_model(mask, region, 10, 10)[0] == 1);
  for (uint8_t v : mask_for_model(mask, {}, 10, 10)) CHECK(v == 0);

  const Image img = random_image(40, 20, 8);
  const std::vector<float> map(10 * 10, 1.f);
  const Image over = overlay_map(img, map, 10, 10, 0.5f, region);
  for (int y = 0; y < 20; ++y)
    for (int x = 0; x < 40; ++x) {
      const size_t p = (size_t(y) * 40 + x) * 3;
      const bool inside = x >= 10 && x < 30;
      CAPTURE(x);
      CHECK((over.rgb[p] == img.rgb[p]) == !inside);
    }
  const std::vector<float> placed = map_over_image(map, 10, 10, 40, 20, region);
  CHECK(placed[9] == 0.f);
  CHECK(placed[10] == 1.f);
  CHECK(placed[29] == 1.f);
  CHECK(placed[30] == 0.f);
}

namespace {
const char* pil_cases() { return std::getenv("UNIONCAM_PIL_CASES"); }

// An 8-bit image as PIL would store our float result: each value rounded to the nearest level.
int worst_level_difference(const Image& ours, const Image& expected) {
  REQUIRE(ours.width == expected.width);
  REQUIRE(ours.height == expected.height);
  int worst = 0;
  for (size_t i = 0; i < ours.rgb.size(); ++i) {
    const int a = static_cast<int>(std::lround(std::clamp(ours.rgb[i], 0.f, 1.f) * 255));
    const int b = static_cast<int>(std::lround(expected.rgb[i] * 255));
    worst = std::max(worst, std::abs(a - b));
  }
  return worst;
}
}  // namespace

TEST_CASE("pil/every resize and crop is PIL's and torchvision's, byte for byte" *
          doctest::skip(pil_cases() == nullptr)) {
  const std::string dir = pil_cases();
  std::ifstream list(dir + "/cases.txt");
  REQUIRE(list.good());
  std::string line;
  int cases = 0, worst_all = 0;
  while (std::getline(list, line)) {
    std::istringstream in(line);
    std::string kind, input, expected;
    int w = 0, h = 0;
    in >> kind >> input >> w >> h >> expected;
    CAPTURE(line);
    const Image img = load_image(dir + "/" + input);
    Image ours;
    if (kind == "antialias")
      ours = resize_antialiased(img, w, h);
    else if (kind == "nearest")
      ours = resize_nearest(img, w, h);
    else
      ours = prepare_model_image(img, Preprocess::Torchvision, w, h).image;
    // PIL's own arithmetic, byte for byte (the issue asked for one level at most).
    const int worst = worst_level_difference(ours, load_image(dir + "/" + expected));
    CHECK(worst == 0);
    worst_all = std::max(worst_all, worst);
    ++cases;
  }
  CHECK(cases > 50);
  MESSAGE(cases << " cases compared with PIL and torchvision; the worst difference: " << worst_all
                << " level(s)");
}
