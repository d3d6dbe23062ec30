// Overlay colours and the .npy writer (read back with NumPy when it is installed).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "io/render.h"
#include "tests/check.h"

using namespace uc;

TEST_CASE("render/jet goes blue, cyan, green, yellow, red") {
  float c[3];
  jet_color(0.f, c);
  CHECK(c[2] > 0.4f);
  CHECK(c[0] == 0.f);
  jet_color(0.5f, c);
  CHECK(c[1] == doctest::Approx(1.f));
  jet_color(1.f, c);
  CHECK(c[0] > 0.4f);
  CHECK(c[2] == 0.f);
  jet_color(2.f, c);  // clamped
  CHECK(c[0] > 0.4f);
}

TEST_CASE("render/overlay keeps the image size and changes it where the map is high") {
  Image img;
  img.width = 10;
  img.height = 6;
  img.rgb.assign(10 * 6 * 3, 0.5f);
  std::vector<float> map(4 * 4, 0.f);
  map[15] = 1.f;  // bottom-right
  const Image out = overlay_map(img, map, 4, 4, 0.5f);
  CHECK(out.width == 10);
  CHECK(out.height == 6);
  const size_t br = (5 * 10 + 9) * 3, tl = 0;
  CHECK(out.rgb[br] > out.rgb[tl]);  // red where the map is 1, blue-ish where 0
  CHECK(out.rgb[tl + 2] > out.rgb[tl]);
}

TEST_CASE("render/npy header and data") {
  const std::string path =
      std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/uc_test_map.npy";
  std::vector<float> v = {0.f, 0.25f, 0.5f, 0.75f, 1.f, 0.125f};
  save_npy(path, v, 2, 3);
  std::ifstream f(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  REQUIRE(bytes.size() > 10);
  const size_t prefix =
      10 + (static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8);
  CHECK(prefix % 64 == 0);  // NumPy aligns the data
  REQUIRE(bytes.size() == prefix + v.size() * 4);
  CHECK(bytes.compare(0, 6, "\x93NUMPY") == 0);
  CHECK(bytes.find("'shape': (2, 3)") != std::string::npos);
  CHECK(bytes[prefix - 1] == '\n');
  std::vector<float> back(v.size());
  std::memcpy(back.data(), bytes.data() + prefix, v.size() * 4);
  CHECK_CLOSE("npy data", back, v, 0, 0);
  const std::string cmd = "/usr/bin/python3 -c \"import numpy as n,sys; a=n.load('" + path +
                          "'); sys.exit(0 if a.shape==(2,3) and a.dtype==n.float32 and a[1,1]==1.0 "
                          "else 1)\" 2>/dev/null";
  if (std::system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0)
    CHECK(std::system(cmd.c_str()) == 0);
  std::remove(path.c_str());
}
