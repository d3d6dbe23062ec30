// The public API (include/unioncam/unioncam.h) over the floors: each call translates its
// arguments, runs the same functions the command line runs, and turns uc::Error into
// unioncam::Error of the same kind and message.
#include "unioncam/unioncam.h"

#include <algorithm>
#include <new>
#include <numeric>

#include "cam/cam.h"
#include "cam/metrics.h"
#include "core/context.h"
#include "core/error.h"
#include "io/image.h"
#include "io/preprocess.h"
#include "io/render.h"
#include "layers/layers.h"
#include "runtime/network.h"
#include "weights/weights.h"

namespace unioncam {
namespace {

ErrorKind public_kind(uc::ErrorKind kind) {
  switch (kind) {
    case uc::ErrorKind::Usage: return ErrorKind::Usage;
    case uc::ErrorKind::BadInput: return ErrorKind::BadInput;
    case uc::ErrorKind::Device: return ErrorKind::Device;
    case uc::ErrorKind::OutOfMemory: return ErrorKind::OutOfMemory;
    case uc::ErrorKind::Output: return ErrorKind::Output;
    case uc::ErrorKind::Internal: return ErrorKind::Internal;
  }
  return ErrorKind::Internal;
}

// Runs `body`, rethrowing the floors' errors as the public kind with the CLI's message.
template <typename Body>
auto translated(Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const uc::Error& e) {
    throw Error(public_kind(e.kind()), uc::printable(e.what()));
  } catch (const std::bad_alloc&) {
    throw Error(ErrorKind::OutOfMemory, "out of host memory");
  }
}

uc::Image to_internal(const Image& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != size_t(image.width) * size_t(image.height) * 3)
    uc::fail_usage("image is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                   " with " + std::to_string(image.rgb.size()) +
                   " bytes; expected width * height * 3");
  return uc::image_from_rgb8(image.rgb.data(), image.width, image.height);
}

Image to_public(const uc::Image& image) {
  Image out;
  out.width = image.width;
  out.height = image.height;
  out.rgb = uc::image_to_rgb8(image);
  return out;
}

uc::CamMethod internal_method(Method m) { return static_cast<uc::CamMethod>(static_cast<int>(m)); }
Method public_method(uc::CamMethod m) { return static_cast<Method>(static_cast<int>(m)); }

uc::CamOptions cam_options(const ExplainOptions& o) {
  uc::CamOptions c;
  c.target_class = o.target_class;
  c.layer = o.layer;
  c.theta = o.theta;
  c.groups = o.groups;
  c.region = o.region == Region::GroupCam ? uc::RegionMethod::GroupCam : uc::RegionMethod::ScoreCam;
  c.score = o.score == Score::Logit ? uc::ScoreKind::Logit : uc::ScoreKind::Prob;
  c.mask_space =
      o.mask_space == MaskSpace::Pixel ? uc::MaskSpace::Pixel : uc::MaskSpace::Normalized;
  return c;  // batch 0: the network's (ModelOptions::batch)
}

bool same_options(const uc::CamOptions& a, const uc::CamOptions& b) {
  return a.target_class == b.target_class && a.layer == b.layer && a.theta == b.theta &&
         a.groups == b.groups && a.region == b.region && a.score == b.score &&
         a.mask_space == b.mask_space && a.batch == b.batch;
}

}  // namespace

const char* version() { return uc::version(); }

Image read_image(const std::string& path, size_t max_pixels) {
  return translated([&] { return to_public(uc::load_image(path, max_pixels)); });
}

Image read_image(const uint8_t* bytes, size_t size, const std::string& name, size_t max_pixels) {
  return translated([&] {
    if (bytes == nullptr && size > 0) uc::fail_usage("read_image: null bytes for '" + name + "'");
    return to_public(uc::load_image_from_memory(bytes, size, name, max_pixels));
  });
}

void write_image(const std::string& path, const Image& image) {
  translated([&] { uc::save_image(path, to_internal(image)); });
}

const char* method_name(Method method) { return uc::cam_method_name(internal_method(method)); }

Method parse_method(const std::string& name) {
  return translated([&] { return public_method(uc::parse_cam_method(name)); });
}

std::vector<Method> all_methods() {
  std::vector<Method> methods;
  for (uc::CamMethod m : uc::all_cam_methods()) methods.push_back(public_method(m));
  return methods;
}

struct Model::Impl {
  uc::ModelWeights weights;
  std::vector<std::string> class_names;
  std::string device_note;
  uc::Preprocess preprocess = uc::Preprocess::Antialias;
  std::unique_ptr<uc::Context> context;
  // The network, planned once, and an Explainer for the last options: other options make a new
  // Explainer (its scratch buffers), not a new network.
  uc::ExplainerPlan plan;

  uc::Explainer& explainer_for(const ExplainOptions& options) {
    const uc::CamOptions wanted = cam_options(options);
    if (!plan.explainer || !same_options(wanted, plan.explainer->options())) {
      uc::Explainer::validate(wanted, *plan.network);  // bad options leave the old one in place
      plan.explainer.reset();  // its scratch is freed before the new one is planned
      plan.explainer = std::make_unique<uc::Explainer>(*plan.network, wanted);
    }
    return *plan.explainer;
  }

  // The image preprocessed to the input size, as `unioncam explain` prepares it; `region` (when
  // given) receives the part of the image the model sees.
  std::vector<float> model_input(const Image& image, uc::ImageRegion* region = nullptr) const {
    const uc::ModelImage m =
        uc::prepare_model_image(to_internal(image), preprocess, weights.input_w, weights.input_h);
    if (region) *region = m.region;
    return uc::to_normalized_chw(m.image, weights.mean, weights.std);
  }
};

Model::Model(const std::string& weights_path, const ModelOptions& options)
    : impl_(std::make_unique<Impl>()) {
  translated([&] {
    Impl& m = *impl_;
    const char* device = options.device == Device::Cpu    ? "cpu"
                         : options.device == Device::Cuda ? "cuda"
                                                          : "auto";
    const uc::Backend backend = uc::resolve_backend(device, &m.device_note);
    if (options.batch < 0 || options.max_memory_mb < 0)
      uc::fail_usage("ModelOptions: batch and max_memory_mb must be 0 (automatic) or positive");
    if (options.max_memory_mb > 0)
      uc::set_memory_limit(backend, static_cast<size_t>(options.max_memory_mb) << 20);
    uc::choose_preprocess(options.preprocess, "", "");  // a usage error before any work
    m.weights = uc::load_weights(weights_path);
    m.preprocess = uc::choose_preprocess(options.preprocess, m.weights.preprocess, weights_path);
    m.class_names = uc::effective_class_names(m.weights);
    const uc::MathMode math = options.precision == Precision::TF32   ? uc::MathMode::TF32
                              : options.precision == Precision::BF16 ? uc::MathMode::BF16
                                                                     : uc::MathMode::FP32;
    m.context = std::make_unique<uc::Context>(backend, math);
    const int batch = options.batch > 0
                          ? options.batch
                          : uc::default_masked_batch(backend, m.weights.input_h, m.weights.input_w);
    uc::CamOptions defaults = cam_options({});
    m.plan = uc::plan_explainer(*m.context, m.weights, defaults, batch);
  });
}

Model::~Model() = default;
Model::Model(Model&&) noexcept = default;
Model& Model::operator=(Model&&) noexcept = default;

int Model::classes() const { return impl_->weights.arch.classes(); }
const std::vector<std::string>& Model::class_names() const { return impl_->class_names; }
int Model::input_width() const { return impl_->weights.input_w; }
int Model::input_height() const { return impl_->weights.input_h; }
std::string Model::architecture() const { return impl_->weights.arch.name(); }
std::string Model::device() const { return uc::backend_name(impl_->context->backend()); }
std::string Model::device_note() const { return impl_->device_note; }
std::string Model::preprocess() const { return uc::preprocess_name(impl_->preprocess); }

std::vector<Prediction> Model::predict(const Image& image, int top_k) {
  return translated([&] {
    if (top_k < 1)
      uc::fail_usage("predict: top_k must be at least 1, got " + std::to_string(top_k));
    Impl& m = *impl_;
    uc::VggNetwork& net = *m.plan.network;
    const uc::Tensor input = uc::Tensor::from_host(
        m.context->backend(), {1, 3, net.input_h(), net.input_w()}, m.model_input(image));
    const std::vector<float> logits = net.forward(input).to_host();
    const int classes = net.classes();
    const std::vector<double> probs = uc::softmax(logits.data(), classes);
    std::vector<int> order(static_cast<size_t>(classes));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return logits[size_t(a)] > logits[size_t(b)]; });
    order.resize(static_cast<size_t>(std::min(top_k, classes)));
    std::vector<Prediction> top;
    for (int c : order)
      top.push_back(
          {c, m.class_names[size_t(c)], static_cast<float>(probs[size_t(c)]), logits[size_t(c)]});
    return top;
  });
}

std::vector<Explanation> Model::explain(const Image& image, const std::vector<Method>& methods,
                                        const ExplainOptions& options, Dump* dump) {
  return translated([&] {
    Impl& m = *impl_;
    uc::Explainer& explainer = m.explainer_for(options);
    uc::CamTrace trace;
    trace.masks = dump && dump->masks;
    // Detached again however this call ends: the trace lives on this frame.
    struct Detach {
      uc::Explainer& e;
      ~Detach() { e.set_trace(nullptr); }
    } detach{explainer};
    if (dump) explainer.set_trace(&trace);
    uc::ImageRegion region;
    explainer.set_image(m.model_input(image, &region));
    const int target = explainer.target_class();
    std::vector<Explanation> out;
    for (Method method : methods) {
      const uc::CamResult r = explainer.explain(internal_method(method));
      Explanation e;
      e.method = method;
      e.target_class = target;
      e.class_name = m.class_names[size_t(target)];
      e.probability = explainer.probabilities()[size_t(target)];
      e.height = r.height;
      e.width = r.width;
      e.map = r.map;
      if (options.image_size_map) {
        e.image_height = image.height;
        e.image_width = image.width;
        e.image_map =
            uc::map_over_image(r.map, r.width, r.height, image.width, image.height, region);
      }
      e.region = {region.left, region.top, region.right, region.bottom};
      e.degenerate = r.degenerate;
      e.ms = r.ms;
      e.masked_forwards = r.masked_inputs;
      e.theta = r.unioncam.theta;
      e.beta_den = r.unioncam.beta_den;
      e.beta_reg = r.unioncam.beta_reg;
      e.beta_dr = r.unioncam.beta_dr;
      e.fused = r.unioncam.fused;
      e.options = options;
      e.options.target_class = target;
      out.push_back(std::move(e));
    }
    if (dump) {
      dump->arrays.clear();
      for (auto& [name, a] : trace.arrays)
        dump->arrays[name] = {std::move(a.shape), std::move(a.values), a.int_valued};
      dump->numbers = std::move(trace.numbers);
      dump->strings = std::move(trace.strings);
    }
    return out;
  });
}

Explanation Model::explain(const Image& image, Method method, const ExplainOptions& options) {
  return explain(image, std::vector<Method>{method}, options).at(0);
}

Metrics Model::evaluate(const Image& image, const Explanation& explanation,
                        const std::vector<uint8_t>* object_mask) {
  return translated([&] {
    const size_t pixels = size_t(explanation.height) * size_t(explanation.width);
    if (explanation.map.size() != pixels || pixels == 0)
      uc::fail_usage("evaluate: the explanation's map has " +
                     std::to_string(explanation.map.size()) + " values for " +
                     std::to_string(explanation.height) + "x" + std::to_string(explanation.width));
    if (object_mask && object_mask->size() != pixels)
      uc::fail_usage("evaluate: the object mask has " + std::to_string(object_mask->size()) +
                     " values; expected " + std::to_string(pixels) + " (the map's size)");
    Impl& m = *impl_;
    ExplainOptions options = explanation.options;
    options.target_class = explanation.target_class;
    uc::Explainer& explainer = m.explainer_for(options);
    if (explanation.height != m.plan.network->input_h() ||
        explanation.width != m.plan.network->input_w())
      uc::fail_usage("evaluate: the map is " + std::to_string(explanation.width) + "x" +
                     std::to_string(explanation.height) + "; the model's input is " +
                     std::to_string(m.plan.network->input_w()) + "x" +
                     std::to_string(m.plan.network->input_h()));
    explainer.set_image(m.model_input(image));
    const uc::MapMetrics r = uc::evaluate_map(explainer, explanation.map, object_mask);
    Metrics out;
    out.y = r.y;
    out.o = r.o;
    out.drop = r.drop;
    out.increase = r.increase;
    out.insertion = r.insertion;
    out.deletion = r.deletion;
    out.insertion_curve = r.insertion_curve;
    out.deletion_curve = r.deletion_curve;
    out.pointing = r.pointing;
    out.energy = r.energy;
    return out;
  });
}

Image overlay(const Image& image, const Explanation& explanation, float alpha) {
  return translated([&] {
    if (!(alpha >= 0.f && alpha <= 1.f))
      uc::fail_usage("overlay: alpha must lie in [0, 1], got " + std::to_string(alpha));
    if (explanation.map.size() != size_t(explanation.height) * size_t(explanation.width) ||
        explanation.map.empty())
      uc::fail_usage("overlay: the explanation has no map");
    const Explanation::Region& r = explanation.region;
    return to_public(uc::overlay_map(to_internal(image), explanation.map, explanation.width,
                                     explanation.height, alpha,
                                     {r.left, r.top, r.right, r.bottom}));
  });
}

void write_map(const std::string& path, const Explanation& explanation) {
  translated([&] {
    if (explanation.map.size() != size_t(explanation.height) * size_t(explanation.width) ||
        explanation.map.empty())
      uc::fail_usage("write_map: the explanation has no map");
    uc::save_npy(path, explanation.map, explanation.height, explanation.width);
  });
}

}  // namespace unioncam
