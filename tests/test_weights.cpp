// Weights loading: the committed fixtures (made by scripts/make_fixtures.sh, whose exports print
// the parameter counts checked here), Keras-to-torchvision conversion, float16/float64 files, and
// bad files built in a temporary directory, each rejected with a message naming file and problem.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "tests/check.h"
#include "weights/hdf5_file.h"
#include "weights/weights.h"

namespace fs = std::filesystem;
using namespace uc;

namespace {

std::string fixture(const std::string& name) { return test::source_path("tests/fixtures/" + name); }

struct TempDir {
  fs::path dir = fs::temp_directory_path() / ("unioncam_weights_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(dir); }
  ~TempDir() { fs::remove_all(dir); }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

HostArray filled(std::vector<int64_t> shape, float value) {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return {shape, std::vector<float>(n, value)};
}

// torchvision-named tensors of a VGG with the given convs per block (widths 4, 8, ...).
std::map<std::string, HostArray> synthetic_vgg(const std::vector<int>& blocks, bool bn) {
  std::map<std::string, HostArray> t;
  int index = 0, in = 3;
  for (size_t b = 0; b < blocks.size(); ++b) {
    const int out = 4 << b;
    for (int i = 0; i < blocks[b]; ++i) {
      const std::string p = "features." + std::to_string(index) + ".";
      t[p + "weight"] = filled({out, in, 3, 3}, 0.1f);
      t[p + "bias"] = filled({out}, 0.f);
      if (bn)
        for (const char* s : {"weight", "bias", "running_mean", "running_var"})
          t["features." + std::to_string(index + 1) + "." + s] = filled({out}, 1.f);
      index += bn ? 3 : 2;
      in = out;
    }
    ++index;  // max-pool
  }
  t["classifier.0.weight"] = filled({8, int64_t(in) * 49}, 0.01f);
  t["classifier.0.bias"] = filled({8}, 0.f);
  t["classifier.3.weight"] = filled({8, 8}, 0.01f);
  t["classifier.3.bias"] = filled({8}, 0.f);
  t["classifier.6.weight"] = filled({3, 8}, 0.01f);
  t["classifier.6.bias"] = filled({3}, 0.f);
  return t;
}

h5::File write_tensors(const std::string& path, const std::map<std::string, HostArray>& t) {
  h5::File f = h5::File::create(path);
  for (const auto& [name, a] : t) f.write_floats(name, a);
  return f;
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Loading `path` must fail with BadInput, naming the file and the problem.
void check_rejected(const std::string& path, const std::string& problem) {
  try {
    load_weights(path);
    FAIL("loading " << path << " succeeded; expected an error containing '" << problem << "'");
  } catch (const Error& e) {
    const std::string msg = e.what();
    INFO(msg);
    CHECK(e.kind() == ErrorKind::BadInput);
    CHECK_MESSAGE(contains(msg, path), msg);
    CHECK_MESSAGE(contains(msg, problem), msg);
  }
}

void check_same_tensors(const ModelWeights& a, const ModelWeights& b) {
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (const auto& [name, t] : a.tensors) {
    INFO(name);
    REQUIRE(b.tensors.count(name));
    CHECK(t.shape == b.at(name).shape);
    CHECK_CLOSE(name, t.data, b.at(name).data, 0.0, 0.0);
  }
}

}  // namespace

TEST_CASE("weights/vgg11_64 fixture") {
  const ModelWeights m = load_weights(fixture("vgg11_64.h5"));
  CHECK(m.layout == WeightsLayout::Torchvision);
  CHECK(m.arch.name() == "vgg11");
  CHECK(m.arch.depth == 11);
  CHECK_FALSE(m.arch.batchnorm);
  CHECK(m.arch.classifier_widths == std::vector<int>{64, 64, 10});
  CHECK(m.arch.classes() == 10);
  CHECK(m.arch.last_conv_channels() == 64);
  CHECK(m.input_h == 64);
  CHECK(m.input_w == 64);
  CHECK(m.parameter_count() == 350138);
  REQUIRE(m.class_names.size() == 10);
  CHECK(m.class_names[0] == "class0");
  CHECK(m.class_names[9] == "class9");
  CHECK(m.mean == std::array<float, 3>{0.485f, 0.456f, 0.406f});  // defaults: no attributes
  // 8 convs (conv, relu) and 5 pools; pools where torchvision puts them.
  REQUIRE(m.arch.features.size() == 21);
  std::vector<int> pools;
  for (size_t i = 0; i < m.arch.features.size(); ++i) {
    const FeatureModule& f = m.arch.features[i];
    CHECK(f.index == int(i));
    if (f.kind == FeatureModule::MaxPool) pools.push_back(f.index);
  }
  CHECK(pools == std::vector<int>{2, 5, 10, 15, 20});
  CHECK(m.arch.features[0].kind == FeatureModule::Conv);
  CHECK(m.arch.features[0].in_channels == 3);
  CHECK(m.arch.features[0].out_channels == 8);
  CHECK(m.arch.features[19].kind == FeatureModule::ReLU);
  CHECK(m.at("features.0.weight").shape == std::vector<int64_t>{8, 3, 3, 3});
}

TEST_CASE("weights/vgg16bn_64 fixture") {
  const ModelWeights m = load_weights(fixture("vgg16bn_64.h5"));
  CHECK(m.arch.name() == "vgg16_bn");
  CHECK(m.arch.depth == 16);
  CHECK(m.arch.batchnorm);
  CHECK(m.arch.classifier_widths == std::vector<int>{32, 32, 7});
  CHECK(m.arch.last_conv_channels() == 32);
  CHECK(m.input_h == 64);
  CHECK(m.class_names.empty());
  CHECK(m.parameter_count() == 109851);
  CHECK(m.tensors.count("features.1.num_batches_tracked") == 0);  // ignored
  REQUIRE(m.arch.features.size() == 44);                          // 13 x (conv, bn, relu) + 5 pools
  CHECK(m.arch.features[1].kind == FeatureModule::BatchNorm);
  CHECK(m.arch.features[42].kind == FeatureModule::ReLU);  // the reference's target layer
  CHECK(m.arch.features[43].kind == FeatureModule::MaxPool);
  CHECK(m.at("features.41.running_var").shape == std::vector<int64_t>{32});
}

TEST_CASE("weights/keras layout converts to the torchvision tensors exactly") {
  const ModelWeights tv = load_weights(fixture("vgg16_keras_small_tv.h5"));
  const ModelWeights k = load_weights(fixture("vgg16_keras_small.h5"));
  CHECK(k.layout == WeightsLayout::Keras);
  CHECK(k.arch.name() == "vgg16");
  CHECK(k.arch.classifier_widths == tv.arch.classifier_widths);
  CHECK(k.input_h == 224);
  CHECK(k.input_w == 224);
  CHECK(k.mean == tv.mean);
  CHECK(k.std == tv.std);
  CHECK(k.parameter_count() == 109257);
  check_same_tensors(k, tv);
}

TEST_CASE("weights/keras names as split variable-length attributes") {
  TempDir tmp;
  const std::string path = tmp.file("keras_vlen.h5");
  fs::copy_file(fixture("vgg16_keras_small.h5"), path);
  {
    h5::File f = h5::File::open(path, true);
    const std::vector<std::string> layers = f.read_strings("/", "layer_names");
    f.delete_attribute("/", "layer_names");
    const auto half = layers.begin() + layers.size() / 2;
    f.write_strings("/", "layer_names0", {layers.begin(), half}, true);
    f.write_strings("/", "layer_names1", {half, layers.end()}, true);
    const std::vector<std::string> w = f.read_strings("block3_conv2", "weight_names");
    f.delete_attribute("block3_conv2", "weight_names");
    f.write_strings("block3_conv2", "weight_names", {w[1], w[0]}, true);  // bias first
  }
  check_same_tensors(load_weights(path), load_weights(fixture("vgg16_keras_small_tv.h5")));
}

TEST_CASE("weights/keras without classifier is rejected") {
  TempDir tmp;
  const std::string path = tmp.file("keras_notop.h5");
  fs::copy_file(fixture("vgg16_keras_small.h5"), path);
  {
    h5::File f = h5::File::open(path, true);
    std::vector<std::string> layers = f.read_strings("/", "layer_names");
    layers.resize(layers.size() - 3);  // drop fc1, fc2, predictions
    f.delete_attribute("/", "layer_names");
    f.write_strings("/", "layer_names", layers, false);
  }
  check_rejected(path, "include_top=False");
}

TEST_CASE("weights/float16 and float64 files hold the same values") {
  const ModelWeights h = load_weights(fixture("vgg11_tiny_f16.h5"));
  const ModelWeights d = load_weights(fixture("vgg11_tiny_f64.h5"));
  CHECK(h.arch.name() == "vgg11");
  CHECK(h.input_h == 32);
  CHECK(h.parameter_count() == 15519);
  check_same_tensors(h, d);
  bool subnormal = false;  // half subnormals (< 2^-14) exercise the conversion's hard case
  for (float x : h.at("classifier.0.weight").data) subnormal |= x != 0 && std::fabs(x) < 6.1035e-5f;
  CHECK(subnormal);
}

TEST_CASE("weights/infer_vgg_arch recognises every config") {
  const std::pair<int, std::vector<int>> configs[] = {
      {11, {1, 1, 2, 2, 2}}, {13, {2, 2, 2, 2, 2}}, {16, {2, 2, 3, 3, 3}}, {19, {2, 2, 4, 4, 4}}};
  for (const auto& [depth, blocks] : configs)
    for (bool bn : {false, true}) {
      const VggArch a = infer_vgg_arch(synthetic_vgg(blocks, bn), "synthetic");
      CHECK(a.depth == depth);
      CHECK(a.batchnorm == bn);
      CHECK(a.last_conv_channels() == 64);
      int convs = 0;
      for (const auto& f : a.features) convs += f.kind == FeatureModule::Conv;
      CHECK(convs == depth - 3);
      CHECK(a.features.back().kind == FeatureModule::MaxPool);
      CHECK(a.features.back().index == int(a.features.size()) - 1);
    }
}

TEST_CASE("weights/strings without terminators and deeply nested groups read as they should") {
  TempDir tmp;
  const ModelWeights good = load_weights(fixture("vgg11_64.h5"));
  const std::string path = tmp.file("odd.h5");
  {
    const h5::File f = write_tensors(path, good.tensors);
    // Ten class names of exactly 3 bytes each in a 3-byte NULLPAD type: no terminators at all.
    std::string bytes;
    for (int i = 0; i < 10; ++i) bytes += "c" + std::to_string(10 + i);
    const hsize_t count = 10;
    h5::Handle space(H5Screate_simple(1, &count, nullptr), H5Sclose);
    h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.get(), 3);
    H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
    h5::Handle attr(
        H5Acreate2(f.id(), "class_names", type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
        H5Aclose);
    REQUIRE(H5Awrite(attr.get(), type.get(), bytes.data()) >= 0);
    // 200 groups nested in one another beside the datasets: not weights, so not read.
    std::string group;
    for (int i = 0; i < 200; ++i) group += "/g";
    h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
    H5Pset_create_intermediate_group(lcpl.get(), 1);
    h5::Handle g(H5Gcreate2(f.id(), group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
    REQUIRE(g.get() >= 0);
  }
  const ModelWeights w = load_weights(path);
  REQUIRE(w.class_names.size() == 10);
  CHECK(w.class_names.front() == "c10");
  CHECK(w.class_names.back() == "c19");
  CHECK(w.tensors.size() == good.tensors.size());
}

TEST_CASE("weights/bad files are rejected with the file and the problem") {
  TempDir tmp;
  const ModelWeights good = load_weights(fixture("vgg11_64.h5"));

  SUBCASE("nonexistent path") { check_rejected(tmp.file("absent.h5"), "no such file"); }

  SUBCASE("text file") {
    const std::string path = tmp.file("notes.h5");
    std::ofstream(path) << "these are not weights\n";
    check_rejected(path, "is not an HDF5 file");
  }

  SUBCASE("truncated file") {
    const std::string path = tmp.file("truncated.h5");
    std::ifstream in(fixture("vgg11_64.h5"), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size() / 2);
    check_rejected(path, "truncated");
  }

  SUBCASE("missing dataset") {
    auto t = good.tensors;
    t.erase("classifier.3.bias");
    const std::string path = tmp.file("missing.h5");
    write_tensors(path, t);
    check_rejected(path, "missing dataset 'classifier.3.bias'");
  }

  SUBCASE("wrong shape") {
    auto t = good.tensors;
    t["features.3.weight"] = filled({16, 8, 5, 5}, 0.f);
    const std::string path = tmp.file("shape.h5");
    write_tensors(path, t);
    check_rejected(path, "'features.3.weight' has shape [16,8,5,5]; expected [16,8,3,3]");
  }

  SUBCASE("NaN in weights") {
    auto t = good.tensors;
    t["classifier.0.weight"].data[5] = NAN;
    const std::string path = tmp.file("nan.h5");
    write_tensors(path, t);
    check_rejected(path, "'classifier.0.weight' holds NaN at element 5");
  }

  SUBCASE("int32 dataset") {
    auto t = good.tensors;
    t.erase("classifier.6.bias");
    const std::string path = tmp.file("int32.h5");
    const std::vector<int32_t> ints(10, 1);
    write_tensors(path, t).write_dataset("classifier.6.bias", {10}, ints.data(), H5T_NATIVE_INT32,
                                         H5T_STD_I32LE);
    check_rejected(path, "'classifier.6.bias' has unsupported type int32");
  }

  SUBCASE("unknown architecture: 3 convs in block 1") {
    const std::string path = tmp.file("arch.h5");
    write_tensors(path, synthetic_vgg({3, 2, 2, 2, 2}, false));
    check_rejected(path, "unknown architecture: convolutions per block [3,2,2,2,2]");
  }

  SUBCASE("arch attribute disagrees with the datasets") {
    const std::string path = tmp.file("archattr.h5");
    write_tensors(path, good.tensors).write_strings("/", "arch", {"vgg19"}, false);
    check_rejected(path, "attribute 'arch' says 'vgg19' but the datasets describe a vgg11");
  }

  SUBCASE("input size not a multiple of 32") {
    const std::string path = tmp.file("size.h5");
    write_tensors(path, good.tensors).write_numbers("/", "input_size", {100});
    check_rejected(path, "multiple of 32");
  }

  SUBCASE("input size 0 or 10^9 (a multiple of 32, but no VGG input)") {
    for (const double side : {0.0, 1e9}) {
      CAPTURE(side);
      const std::string path = tmp.file("hostile_size.h5");
      write_tensors(path, good.tensors).write_numbers("/", "input_size", {side});
      check_rejected(path, "at most 8192");
    }
  }

  SUBCASE("an attribute claiming 2^24 values") {
    // Attributes past 64 KiB need the newer file format's dense attribute storage.
    const std::string path = tmp.file("big_attr.h5");
    {
      h5::Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
      H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
      h5::Handle created(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), H5Fclose);
      REQUIRE(created.get() >= 0);
    }
    h5::File f = h5::File::open(path, true);
    for (const auto& [name, a] : good.tensors) f.write_floats(name, a);
    f.write_numbers("/", "mean", std::vector<double>(1 << 24, 0.5));
    f = h5::File::open(path);  // the writer closed
    check_rejected(path, "claims 16777216 values; at most 1048576");
  }

  // Hostile shapes, judged before any value is read: a chunked dataset with nothing written
  // claims 2^40 values (4 TiB) in a file of the fixture's size.
  SUBCASE("a dataset claiming 2^40 values, or none") {
    for (const auto& dims :
         {std::vector<hsize_t>{1 << 20, 1 << 20}, std::vector<hsize_t>{0, 8, 3, 3}}) {
      auto t = good.tensors;
      t.erase("features.0.weight");
      const std::string path = tmp.file("huge.h5");
      {
        const h5::File f = write_tensors(path, t);
        h5::Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
        h5::Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
        const std::vector<hsize_t> chunk(dims.size(), 1);
        H5Pset_chunk(props.get(), int(chunk.size()), chunk.data());
        const h5::Handle ds(H5Dcreate2(f.id(), "features.0.weight", H5T_IEEE_F32LE, space.get(),
                                       H5P_DEFAULT, props.get(), H5P_DEFAULT),
                            H5Dclose);
        REQUIRE(ds.get() >= 0);
      }
      CHECK(fs::file_size(path) < (size_t(1) << 22));
      check_rejected(path,
                     dims[0] == 0 ? "[0,8,3,3]: no values" : "1099511627776 values; no VGG tensor");
    }
  }

  SUBCASE("class names do not match the classes") {
    const std::string path = tmp.file("names.h5");
    write_tensors(path, good.tensors).write_strings("/", "class_names", {"a", "b"}, true);
    check_rejected(path, "'class_names' has 2 names but the classifier has 10 classes");
  }
}
