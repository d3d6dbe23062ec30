// The public API (include/unioncam/unioncam.h) against the floors it wraps: the same maps,
// predictions and metrics as the Explainer run directly, and the CLI's error kinds.
#include <doctest/doctest.h>
#include <unioncam/unioncam.h>

#include "cam/cam.h"
#include "cam/metrics.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "io/render.h"
#include "tests/check.h"
#include "weights/weights.h"

namespace {

using uc::test::source_path;

const std::string kWeights = source_path("tests/fixtures/vgg11_64.h5");
const std::string kImage = source_path("tests/fixtures/images/shapes_100x80.png");

unioncam::Model cpu_model() {
  unioncam::ModelOptions options;
  options.device = unioncam::Device::Cpu;
  return unioncam::Model(kWeights, options);
}

// What `unioncam explain` runs for one image, without the API: the reference for its maps.
struct Direct {
  uc::ModelWeights weights = uc::load_weights(kWeights);
  uc::Context ctx{uc::Backend::CPU};
  uc::CamOptions options;
  uc::ExplainerPlan plan;
  Direct(const uc::CamOptions& o = {}) : options(o) {
    plan = uc::plan_explainer(
        ctx, weights, options,
        uc::default_masked_batch(uc::Backend::CPU, weights.input_h, weights.input_w));
    const uc::ModelImage input = uc::prepare_model_image(
        uc::load_image(kImage), uc::Preprocess::Antialias, weights.input_w, weights.input_h);
    plan.explainer->set_image(uc::to_normalized_chw(input.image, weights.mean, weights.std));
  }
};

template <typename Call>
unioncam::ErrorKind kind_of(Call&& call) {
  try {
    call();
  } catch (const unioncam::Error& e) {
    return e.kind();
  }
  FAIL("no unioncam::Error thrown");
  return unioncam::ErrorKind::Internal;
}

}  // namespace

TEST_CASE("api/every method's map is the Explainer's, bit for bit (CPU)") {
  unioncam::Model model = cpu_model();
  const unioncam::Image image = unioncam::read_image(kImage);
  const std::vector<unioncam::Explanation> got = model.explain(image, unioncam::all_methods());
  REQUIRE(got.size() == uc::all_cam_methods().size());
  Direct direct;
  for (size_t i = 0; i < got.size(); ++i) {
    const uc::CamResult want = direct.plan.explainer->explain(uc::all_cam_methods()[i]);
    CAPTURE(unioncam::method_name(got[i].method));
    CHECK(std::string(unioncam::method_name(got[i].method)) ==
          uc::cam_method_name(uc::all_cam_methods()[i]));
    CHECK(got[i].target_class == want.target_class);
    CHECK(got[i].height == model.input_height());
    CHECK(got[i].width == model.input_width());
    CHECK(got[i].map == want.map);
    CHECK(got[i].masked_forwards == want.masked_inputs);
    CHECK(got[i].image_map ==
          uc::resize_map(want.map, want.width, want.height, image.width, image.height));
    CHECK(got[i].image_width == image.width);
    CHECK(got[i].beta_dr == want.unioncam.beta_dr);
    CHECK(got[i].fused == want.unioncam.fused);
  }
}

TEST_CASE("api/predict ranks the classes of one forward, and explain follows its top-1") {
  unioncam::Model model = cpu_model();
  const unioncam::Image image = unioncam::read_image(kImage);
  const std::vector<unioncam::Prediction> top = model.predict(image, 3);
  REQUIRE(top.size() == 3);
  CHECK(top[0].probability >= top[1].probability);
  CHECK(top[1].logit >= top[2].logit);
  CHECK(top[0].name == model.class_names()[size_t(top[0].class_index)]);
  Direct direct;
  const std::vector<float>& probs = direct.plan.explainer->probabilities();
  CHECK(top[0].probability == doctest::Approx(probs[size_t(top[0].class_index)]).epsilon(1e-5));
  CHECK(model.explain(image, unioncam::Method::GradCam).target_class == top[0].class_index);
  CHECK(model.predict(image, 1000).size() == size_t(model.classes()));
}

TEST_CASE("api/options: a class, a layer and UnionCAM's settings reach the Explainer") {
  unioncam::Model model = cpu_model();
  const unioncam::Image image = unioncam::read_image(kImage);
  unioncam::ExplainOptions o;
  o.target_class = 3;
  o.layer = "features.7";
  o.theta = 50;
  o.region = unioncam::Region::GroupCam;
  o.groups = 8;
  o.score = unioncam::Score::Logit;
  o.image_size_map = false;
  const unioncam::Explanation got = model.explain(image, unioncam::Method::UnionCam, o);
  uc::CamOptions c;
  c.target_class = 3;
  c.layer = "features.7";
  c.theta = 50;
  c.region = uc::RegionMethod::GroupCam;
  c.groups = 8;
  c.score = uc::ScoreKind::Logit;
  Direct direct(c);
  const uc::CamResult want = direct.plan.explainer->explain(uc::CamMethod::UnionCam);
  CHECK(got.target_class == 3);
  CHECK(got.map == want.map);
  CHECK(got.theta == 50);
  CHECK(got.image_map.empty());
  CHECK(got.options.layer == "features.7");
  // Back to the defaults: the next call re-plans and matches a default Explainer again.
  CHECK(model.explain(image, unioncam::Method::GradCam).map ==
        Direct().plan.explainer->explain(uc::CamMethod::GradCam).map);
}

TEST_CASE("api/evaluate gives evaluate_map's metrics for the explanation's class") {
  unioncam::Model model = cpu_model();
  const unioncam::Image image = unioncam::read_image(kImage);
  unioncam::ExplainOptions o;
  o.target_class = 2;
  const unioncam::Explanation e = model.explain(image, unioncam::Method::GradCamPP, o);
  const unioncam::Metrics got = model.evaluate(image, e);
  uc::CamOptions c;
  c.target_class = 2;
  Direct direct(c);
  const uc::MapMetrics want = uc::evaluate_map(*direct.plan.explainer, e.map);
  CHECK(got.y == want.y);
  CHECK(got.o == want.o);
  CHECK(got.insertion == want.insertion);
  CHECK(got.deletion_curve == want.deletion_curve);
  CHECK(got.pointing == -1);
  std::vector<uint8_t> mask(e.map.size(), 1);
  CHECK(model.evaluate(image, e, &mask).energy == doctest::Approx(1.0));
  mask.pop_back();
  CHECK(kind_of([&] { model.evaluate(image, e, &mask); }) == unioncam::ErrorKind::Usage);
}

TEST_CASE("api/images: from memory as from the file; overlays and maps as the CLI writes them") {
  const std::vector<uint8_t> bytes = uc::test::read_bytes(kImage);
  const unioncam::Image from_file = unioncam::read_image(kImage);
  const unioncam::Image from_memory = unioncam::read_image(bytes.data(), bytes.size(), "cat");
  CHECK(from_memory.rgb == from_file.rgb);
  CHECK(from_file.rgb.size() == size_t(from_file.width) * from_file.height * 3);
  CHECK(uc::image_from_rgb8(from_file.rgb.data(), from_file.width, from_file.height).rgb ==
        uc::load_image(kImage).rgb);

  unioncam::Model model = cpu_model();
  const unioncam::Explanation e = model.explain(from_file);
  const unioncam::Image over = unioncam::overlay(from_file, e, 0.3f);
  CHECK(over.rgb ==
        uc::image_to_rgb8(uc::overlay_map(uc::load_image(kImage), e.map, e.width, e.height, 0.3f)));
  const uc::test::TempDir dir;
  unioncam::write_map(dir / "api.npy", e);
  uc::save_npy(dir / "direct.npy", e.map, e.height, e.width);
  CHECK(uc::test::read_bytes(dir / "api.npy") == uc::test::read_bytes(dir / "direct.npy"));
  unioncam::write_image(dir / "over.png", over);
  CHECK(unioncam::read_image(dir / "over.png").rgb == over.rgb);
}

TEST_CASE("api/errors carry the command line's kinds") {
  using K = unioncam::ErrorKind;
  CHECK(kind_of([] { unioncam::Model("/nonexistent/w.h5"); }) == K::BadInput);
  CHECK(kind_of([] { unioncam::read_image("/nonexistent/cat.png"); }) == K::BadInput);
  CHECK(kind_of([] { unioncam::read_image(nullptr, 0, "empty"); }) == K::BadInput);
  CHECK(kind_of([] { unioncam::parse_method("gradcam3"); }) == K::Usage);
  CHECK(unioncam::parse_method("scorecam") == unioncam::Method::ScoreCam);
  unioncam::Model model = cpu_model();
  const unioncam::Image image = unioncam::read_image(kImage);
  unioncam::ExplainOptions o;
  o.theta = 120;
  CHECK(kind_of([&] { model.explain(image, unioncam::Method::UnionCam, o); }) == K::Usage);
  o = {};
  o.layer = "classifier.0";
  CHECK(kind_of([&] { model.explain(image, unioncam::Method::GradCam, o); }) == K::Usage);
  o = {};
  o.target_class = model.classes();
  CHECK(kind_of([&] { model.explain(image, unioncam::Method::GradCam, o); }) == K::Usage);
  CHECK(kind_of([&] { model.predict(image, 0); }) == K::Usage);
  CHECK(kind_of([&] { model.predict(unioncam::Image{}); }) == K::Usage);
  const unioncam::Explanation e = model.explain(image, unioncam::Method::GradCam);
  CHECK(kind_of([&] { unioncam::overlay(image, e, 2.f); }) == K::Usage);
  CHECK(kind_of([&] { unioncam::write_map("/nonexistent/dir/m.npy", e); }) == K::Output);
  CHECK(kind_of([&] { unioncam::write_image("/nonexistent/dir/m.png", image); }) == K::Output);
  CHECK(kind_of([&] { unioncam::write_image("m.tiff", image); }) == K::Usage);
  // The model still works after every refused call.
  CHECK(model.explain(image, unioncam::Method::GradCam).map == e.map);
  if (!uc::cuda_device_available()) {
    unioncam::ModelOptions cuda;
    cuda.device = unioncam::Device::Cuda;
    const K k = kind_of([&] { unioncam::Model(kWeights, cuda); });
    CHECK((k == K::Device || k == K::Usage));
  }
}

TEST_CASE("api/preprocess: the option, the crop's region, the map placed in it") {
  unioncam::ModelOptions options;
  options.device = unioncam::Device::Cpu;
  options.preprocess = "torchvision";
  unioncam::Model model(kWeights, options);
  CHECK(model.preprocess() == "torchvision");
  CHECK(cpu_model().preprocess() == "antialias");              // the fixture names none
  const unioncam::Image image = unioncam::read_image(kImage);  // 100 x 80
  const unioncam::Explanation e = model.explain(image, unioncam::Method::GradCam);
  // Shorter side 80 -> 73 (256 * 64 / 224), 100 -> 91; the crop starts at round(13.5) = 14
  // across (halves to even) and round(4.5) = 4 down.
  CHECK(e.region.left == doctest::Approx(14.0 / 91));
  CHECK(e.region.right == doctest::Approx(78.0 / 91));
  CHECK(e.region.top == doctest::Approx(4.0 / 73));
  CHECK(e.width == 64);
  REQUIRE(e.image_map.size() == size_t(100 * 80));
  CHECK(e.image_map[0] == 0.f);  // the top-left corner lies outside the crop
  const unioncam::Image over = unioncam::overlay(image, e);
  CHECK(std::equal(over.rgb.begin(), over.rgb.begin() + 3, image.rgb.begin()));
  options.preprocess = "pil";
  CHECK(kind_of([&] { unioncam::Model(kWeights, options); }) == unioncam::ErrorKind::Usage);
}
