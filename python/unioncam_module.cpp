// `import unioncam`: the public C++ API (include/unioncam/unioncam.h) for Python, with numpy
// arrays in and out and nothing else to install. The GIL is released while the runtime computes.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>
#include <unioncam/unioncam.h>

#include <cstring>
#include <string>

namespace py = pybind11;

namespace {

const char* kind_name(unioncam::ErrorKind k) {
  switch (k) {
    case unioncam::ErrorKind::Usage: return "usage";
    case unioncam::ErrorKind::BadInput: return "bad_input";
    case unioncam::ErrorKind::Device: return "device";
    case unioncam::ErrorKind::OutOfMemory: return "out_of_memory";
    case unioncam::ErrorKind::Output: return "output";
    case unioncam::ErrorKind::Internal: return "internal";
  }
  return "internal";
}

// A path (str) or an H x W x 3 uint8 array, as the API's image.
unioncam::Image to_image(const py::object& image) {
  if (py::isinstance<py::str>(image)) {
    const std::string path = image.cast<std::string>();
    py::gil_scoped_release release;
    return unioncam::read_image(path);
  }
  const auto a = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(image);
  if (!a || a.ndim() != 3 || a.shape(2) != 3)
    throw unioncam::Error(unioncam::ErrorKind::Usage,
                          "image must be a path or an H x W x 3 uint8 array");
  unioncam::Image img;
  img.height = static_cast<int>(a.shape(0));
  img.width = static_cast<int>(a.shape(1));
  img.rgb.assign(a.data(), a.data() + a.size());
  return img;
}

py::array_t<float> map_array(const std::vector<float>& values, int height, int width) {
  py::array_t<float> out({height, width});
  std::memcpy(out.mutable_data(), values.data(), values.size() * sizeof(float));
  return out;
}

unioncam::Method method_of(const std::string& name) { return unioncam::parse_method(name); }

// The CAM options `unioncam explain` takes, as keyword arguments.
unioncam::ExplainOptions explain_options(const py::kwargs& kw) {
  unioncam::ExplainOptions o;
  for (const auto& [key, value] : kw) {
    const std::string k = key.cast<std::string>();
    if (k == "target_class")
      o.target_class = value.cast<int>();
    else if (k == "layer")
      o.layer = value.cast<std::string>();
    else if (k == "theta")
      o.theta = value.cast<float>();
    else if (k == "groups")
      o.groups = value.cast<int>();
    else if (k == "region" || k == "score" || k == "mask_space") {
      const std::string v = value.cast<std::string>();
      const auto bad = [&](const char* choices) {
        throw unioncam::Error(unioncam::ErrorKind::Usage,
                              k + " expects " + choices + ", got '" + v + "'");
      };
      if (k == "region") {
        if (v != "scorecam" && v != "groupcam") bad("scorecam or groupcam");
        o.region = v == "groupcam" ? unioncam::Region::GroupCam : unioncam::Region::ScoreCam;
      } else if (k == "score") {
        if (v != "prob" && v != "logit") bad("prob or logit");
        o.score = v == "logit" ? unioncam::Score::Logit : unioncam::Score::Prob;
      } else {
        if (v != "normalized" && v != "pixel") bad("normalized or pixel");
        o.mask_space = v == "pixel" ? unioncam::MaskSpace::Pixel : unioncam::MaskSpace::Normalized;
      }
    } else {
      throw unioncam::Error(unioncam::ErrorKind::Usage,
                            "unknown option '" + k +
                                "' (expected target_class, layer, theta, groups, region, score, "
                                "mask_space)");
    }
  }
  return o;
}

py::dict dump_dict(const unioncam::Dump& d, const unioncam::Explanation& e,
                   const py::object& image) {
  py::dict out;
  for (const auto& [name, a] : d.arrays) {
    std::vector<py::ssize_t> shape(a.shape.begin(), a.shape.end());
    if (a.int_valued) {
      py::array_t<int32_t> arr(shape);
      for (size_t i = 0; i < a.values.size(); ++i)
        arr.mutable_data()[i] = static_cast<int32_t>(a.values[i]);
      out[py::str(name)] = arr;
    } else {
      py::array_t<float> arr(shape);
      std::memcpy(arr.mutable_data(), a.values.data(), a.values.size() * sizeof(float));
      out[py::str(name)] = arr;
    }
  }
  for (const auto& [name, v] : d.numbers) out[py::str(name)] = v;
  for (const auto& [name, v] : d.strings) out[py::str(name)] = v;
  out["class"] = e.target_class;
  out["class_name"] = e.class_name;
  out["prob"] = e.probability;
  out["path"] = py::isinstance<py::str>(image) ? image : py::str("<array>");
  return out;
}

class PyModel {
 public:
  PyModel(const std::string& weights, const std::string& device, const std::string& precision,
          int batch, const std::string& preprocess) {
    unioncam::ModelOptions o;
    if (device == "cpu")
      o.device = unioncam::Device::Cpu;
    else if (device == "cuda")
      o.device = unioncam::Device::Cuda;
    else if (device != "auto")
      throw unioncam::Error(unioncam::ErrorKind::Usage,
                            "device expects auto, cpu or cuda, got '" + device + "'");
    if (precision == "tf32")
      o.precision = unioncam::Precision::TF32;
    else if (precision == "bf16")
      o.precision = unioncam::Precision::BF16;
    else if (precision != "fp32")
      throw unioncam::Error(unioncam::ErrorKind::Usage,
                            "precision expects fp32, tf32 or bf16, got '" + precision + "'");
    o.batch = batch;
    o.preprocess = preprocess;
    py::gil_scoped_release release;
    model_ = std::make_unique<unioncam::Model>(weights, o);
  }

  py::list predict(const py::object& image, int topk) {
    const unioncam::Image img = to_image(image);
    std::vector<unioncam::Prediction> top;
    {
      py::gil_scoped_release release;
      top = model_->predict(img, topk);
    }
    py::list out;
    for (const auto& p : top)
      out.append(py::dict(py::arg("class") = p.class_index, py::arg("name") = p.name,
                          py::arg("prob") = p.probability, py::arg("logit") = p.logit));
    return out;
  }

  py::object explain(const py::object& image, const std::vector<std::string>& methods, bool dump,
                     bool dump_masks, const py::kwargs& kw) {
    const unioncam::Image img = to_image(image);
    std::vector<unioncam::Method> ms;
    for (const std::string& m : methods) ms.push_back(method_of(m));
    unioncam::ExplainOptions o = explain_options(kw);
    o.image_size_map = false;
    unioncam::Dump d;
    d.masks = dump_masks;
    std::vector<unioncam::Explanation> es;
    {
      py::gil_scoped_release release;
      es = model_->explain(img, ms, o, dump ? &d : nullptr);
    }
    py::dict maps;
    for (const auto& e : es)
      maps[py::str(unioncam::method_name(e.method))] = map_array(e.map, e.height, e.width);
    if (!dump) return std::move(maps);
    return py::make_tuple(maps, dump_dict(d, es.at(0), image));
  }

  py::dict evaluate(const py::object& image,
                    const py::array_t<float, py::array::c_style | py::array::forcecast>& map,
                    int target_class) {
    const unioncam::Image img = to_image(image);
    if (map.ndim() != 2)
      throw unioncam::Error(unioncam::ErrorKind::Usage, "map must be an H x W float array");
    unioncam::Explanation e;
    e.height = static_cast<int>(map.shape(0));
    e.width = static_cast<int>(map.shape(1));
    e.map.assign(map.data(), map.data() + map.size());
    unioncam::Metrics r;
    {
      py::gil_scoped_release release;
      // The class: as given, else the image's top-1 (one forward).
      e.target_class = target_class >= 0 ? target_class : model_->predict(img, 1).at(0).class_index;
      e.options.target_class = e.target_class;
      r = model_->evaluate(img, e);
    }
    return py::dict(py::arg("y") = r.y, py::arg("o") = r.o, py::arg("drop") = r.drop,
                    py::arg("increase") = r.increase, py::arg("insertion") = r.insertion,
                    py::arg("deletion") = r.deletion,
                    py::arg("insertion_curve") = r.insertion_curve,
                    py::arg("deletion_curve") = r.deletion_curve);
  }

  unioncam::Model& model() { return *model_; }

 private:
  std::unique_ptr<unioncam::Model> model_;
};

}  // namespace

PYBIND11_MODULE(unioncam, m) {
  m.doc() =
      "Visual explanations of VGG image classifiers (Grad-CAM, Grad-CAM++, Score-CAM, Group-CAM, "
      "UnionCAM) with numpy arrays, on the CPU or a CUDA GPU. Errors are unioncam.Error with the "
      "command line's message; .kind and .exit_code say which.";
  m.attr("__version__") = unioncam::version();
  // unioncam.Error(message) with .kind ("usage", "bad_input", ...) and .exit_code (the CLI's).
  static py::exception<unioncam::Error> error(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const unioncam::Error& e) {
      py::object exc = py::reinterpret_borrow<py::object>(error.ptr())(e.what());
      exc.attr("kind") = kind_name(e.kind());
      exc.attr("exit_code") = e.exit_code();
      PyErr_SetObject(error.ptr(), exc.ptr());
    }
  });
  m.def("methods", [] {
    std::vector<std::string> names;
    for (auto method : unioncam::all_methods()) names.push_back(unioncam::method_name(method));
    return names;
  });
  py::class_<PyModel>(m, "Model")
      .def(py::init<const std::string&, const std::string&, const std::string&, int,
                    const std::string&>(),
           py::arg("weights"), py::arg("device") = "auto", py::arg("precision") = "fp32",
           py::arg("batch") = 0, py::arg("preprocess") = "",
           "Loads an HDF5 weights file (torchvision layout or Keras VGG16/19).")
      .def_property_readonly("classes", [](PyModel& p) { return p.model().classes(); })
      .def_property_readonly("class_names", [](PyModel& p) { return p.model().class_names(); })
      .def_property_readonly("input_size",
                             [](PyModel& p) {
                               return py::make_tuple(p.model().input_height(),
                                                     p.model().input_width());
                             })
      .def_property_readonly("device", [](PyModel& p) { return p.model().device(); })
      .def_property_readonly("preprocess", [](PyModel& p) { return p.model().preprocess(); })
      .def("predict", &PyModel::predict, py::arg("image"), py::arg("topk") = 5,
           "The topk classes of an image (a path or an H x W x 3 uint8 array), most likely first.")
      .def("explain", &PyModel::explain, py::arg("image"),
           py::arg("methods") = std::vector<std::string>{"unioncam"}, py::arg("dump") = false,
           py::arg("dump_masks") = false,
           "{method: map} at the model's input size (H x W float32, in [0,1]); with dump=True, "
           "(maps, dump) where dump holds every intermediate under the names of explain --dump. "
           "Keyword options: target_class, layer, theta, groups, region, score, mask_space.")
      .def("evaluate", &PyModel::evaluate, py::arg("image"), py::arg("map"),
           py::arg("target_class") = -1,
           "Average Drop/Increase inputs (y, o, drop, increase) and Insertion/Deletion AUC with "
           "their curves for one map of the image (class: the given one, else the top-1).");
}
