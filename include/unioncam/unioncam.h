// unioncam: visual explanations of VGG image classifiers (Grad-CAM, Grad-CAM++, Score-CAM,
// Group-CAM, UnionCAM) on the CPU or a CUDA GPU, without Python or a deep-learning framework.
//
// The whole public API is this header. A program loads a Model once, then for each image calls
// predict(), explain() and, to judge a map, evaluate(); overlay() and the write_*() functions
// turn results into files. Every call that fails throws unioncam::Error, whose kind() is the
// `unioncam` command line's error kind (and exit_code() its exit status); the messages are the
// command line's too. Files are written atomically: a failed call leaves no partial output.
//
//   unioncam::Model model("vgg16.h5");
//   unioncam::Image cat = unioncam::read_image("cat.jpg");
//   unioncam::Explanation e = model.explain(cat);  // UnionCAM of the top-1 class
//   unioncam::write_image("cat_unioncam.png", unioncam::overlay(cat, e));
//
// Costs below count VGG forwards of one image ("forwards"); a backward costs about two. Masked
// images are forwarded in batches (ModelOptions::batch), so a call's time is nearer its
// forwards divided by the batch, times a batched forward's time.
//
// Link with CMake: find_package(unioncam CONFIG REQUIRED) and unioncam::unioncam; or
// pkg-config --cflags --libs unioncam.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace unioncam {

// The library's version, "MAJOR.MINOR.PATCH" (the same as `unioncam --version`).
const char* version();

// ---- Errors ----------------------------------------------------------------------------------

enum class ErrorKind {
  Usage,        // a bad option or argument (the CLI exits 2)
  BadInput,     // an input file is unreadable or not what it should be (exit 3)
  Device,       // the CUDA device, driver or libraries failed (exit 4)
  OutOfMemory,  // an allocation failed or would pass ModelOptions::max_memory_mb (exit 4)
  Output,       // an output cannot be written: a full disk, a missing folder (exit 4)
  Internal,     // a bug in this library (exit 4)
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const {
    return kind_ == ErrorKind::Usage ? 2 : kind_ == ErrorKind::BadInput ? 3 : 4;
  }

 private:
  ErrorKind kind_;
};

// ---- Images ----------------------------------------------------------------------------------

// 8-bit RGB, interleaved, row-major from the top-left pixel: width * height * 3 bytes.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

constexpr size_t kDefaultMaxPixels = 100'000'000;

// JPEG, PNG, BMP, GIF (first frame), TGA, PSD or PNM, from a file or from bytes in memory (`name`
// stands for the file in messages). Gray is replicated to RGB, alpha dropped, 16-bit PNGs rounded
// to 8 bits. An image over `max_pixels` is refused from its header, before decoding.
// Cost: one decode; memory: the file and the image.
Image read_image(const std::string& path, size_t max_pixels = kDefaultMaxPixels);
Image read_image(const uint8_t* bytes, size_t size, const std::string& name = "<memory>",
                 size_t max_pixels = kDefaultMaxPixels);

// PNG or JPEG (quality 95) by the extension (.png, .jpg, .jpeg), written atomically.
void write_image(const std::string& path, const Image& image);

// ---- Models ----------------------------------------------------------------------------------

enum class Device { Auto, Cpu, Cuda };      // Auto: CUDA when a GPU is usable, else the CPU
enum class Precision { FP32, TF32, BF16 };  // CUDA only; the CPU always computes in fp32

struct ModelOptions {
  Device device = Device::Auto;  // Cuda without a usable GPU is an error, never a fallback
  Precision precision = Precision::FP32;
  int batch = 0;  // masked images per forward; 0: from free GPU memory (at most 32), 32 on the CPU
  int max_memory_mb = 0;  // cap on tensor memory (process-wide); 0: none. The batch is halved
                          // until the model fits.
  // How an image becomes the model's input, as `unioncam --preprocess`: "antialias" (PIL's
  // bilinear straight to the input size), "torchvision" (shorter side to 256 * input / 224, then
  // a centre crop), "keras" (nearest neighbour) or "plain" (bilinear without antialiasing);
  // "": the weights file's choice, else "antialias".
  std::string preprocess;
};

struct Prediction {
  int class_index = 0;
  std::string name;
  float probability = 0;  // softmax of the logits
  float logit = 0;
};

enum class Method { GradCam, GradCamPP, ScoreCam, GroupCam, UnionCam };
const char* method_name(Method method);        // "gradcam", "gradcampp", "scorecam", ...
Method parse_method(const std::string& name);  // Usage error naming the choices
std::vector<Method> all_methods();             // in the order above

enum class Score { Prob, Logit };            // what Score-CAM and UnionCAM's β weigh
enum class MaskSpace { Normalized, Pixel };  // where masks multiply the input (METHODS.md)
enum class Region { ScoreCam, GroupCam };    // UnionCAM's region map

// Every CAM option of `unioncam explain` (the same defaults).
struct ExplainOptions {
  int target_class = -1;  // -1: the image's top-1 class
  std::string layer;      // "features.N"; "": the ReLU after the last convolution
  float theta = 10.f;     // UnionCAM's denoising percentile, [0, 100]
  int groups = 32;        // Group-CAM's groups (also UnionCAM's with Region::GroupCam)
  Region region = Region::ScoreCam;
  Score score = Score::Prob;  // Group-CAM always weighs probabilities
  MaskSpace mask_space = MaskSpace::Normalized;
  bool image_size_map = true;  // also fill Explanation::image_map (the map at the image's size)
};

struct Explanation {
  Method method = Method::UnionCam;
  int target_class = 0;
  std::string class_name;
  float probability = 0;  // of target_class on the image
  // The map at the model's input size (height x width, row-major, values in [0,1]): what
  // `unioncam explain --save-map` writes.
  int height = 0, width = 0;
  std::vector<float> map;
  // The same map resized bilinearly to the image's size (what the overlay shows); empty when
  // ExplainOptions::image_size_map is false. With a cropping preprocess ("torchvision") the map
  // fills the cropped region at its place and is 0 outside it.
  int image_height = 0, image_width = 0;
  std::vector<float> image_map;
  // The part of the image the model saw, as fractions of its width and height.
  struct Region {
    double left = 0, top = 0, right = 1, bottom = 1;
  } region;
  bool degenerate = false;  // the map was constant before normalization (all zeros now)
  double ms = 0;            // this method's time, excluding the shared forward and backward
  int masked_forwards = 0;  // masked images the method forwarded: its cost in forwards
  // UnionCAM only: θ, the score gains β of the denoised, region and fused maps, and which map
  // was selected (fused = L_dr, else L_reg).
  float theta = 0, beta_den = 0, beta_reg = 0, beta_dr = 0;
  bool fused = false;
  ExplainOptions options;  // as used, target_class resolved (evaluate() explains with them)
};

// Every intermediate of METHODS.md that an explain() computed: the names, shapes and attributes of
// `unioncam explain --dump` (README "Dumps"), e.g. arrays["activations"] (K x h x w),
// arrays["unioncam/L_den"] (H x W), numbers["unioncam/beta_dr"], strings["unioncam/selected"].
struct DumpArray {
  std::vector<int64_t> shape;  // empty: a scalar
  std::vector<float> values;   // row-major; integers held exactly when int_valued
  bool int_valued = false;     // "scorecam/channels"
};
struct Dump {
  bool masks = false;  // set before explain(): also the masked-input maps (large)
  std::map<std::string, DumpArray> arrays;
  std::map<std::string, double> numbers;
  std::map<std::string, std::string> strings;
};

// Average Drop / Increase inputs and Insertion / Deletion AUC of one map (METHODS.md).
struct Metrics {
  double y = 0, o = 0;                 // p_c(x) and p_c(L ⊙ x)
  double drop = 0;                     // 100 * max(0, y - o) / y
  bool increase = false;               // y < o
  double insertion = 0, deletion = 0;  // AUC in percent
  std::vector<double> insertion_curve, deletion_curve;
  double pointing = -1, energy = -1;  // with an object mask: 1 hit / 0 miss, energy share; else -1
};

class Model {
 public:
  // Loads an HDF5 weights file (torchvision layout, or a Keras VGG16/19 file) and plans the
  // network on the device. Cost: reading the file; memory: the weights (528 MB for VGG16) plus
  // activations for `batch` images, on the device. Errors: BadInput naming the file; Usage for a
  // bad option; Device when CUDA was asked for and is not usable.
  explicit Model(const std::string& weights_path, const ModelOptions& options = {});
  ~Model();
  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;

  int classes() const;
  const std::vector<std::string>& class_names() const;  // the file's, ImageNet's, or "class N"
  int input_width() const;
  int input_height() const;
  std::string architecture() const;  // "vgg16", "vgg16_bn", ...
  std::string device() const;        // "cpu" or "cuda"
  std::string device_note() const;   // why that device: what `unioncam` prints on standard error
  std::string preprocess() const;    // the preprocessing every call runs (ModelOptions)

  // The top_k classes, most likely first. The image is preprocessed (preprocess()) and
  // normalized with the file's mean and std. Cost: 1 forward.
  std::vector<Prediction> predict(const Image& image, int top_k = 5);

  // Explains the image with each method in turn. Cost: 1 forward and 1 backward to the target
  // layer, shared by all methods; then per method: Grad-CAM and Grad-CAM++ none; Score-CAM one
  // forward per non-constant channel of the layer (at most 512 for VGG16); Group-CAM groups + 1;
  // UnionCAM its region map's (Score-CAM's or Group-CAM's) + 4. Memory: planned once per set of
  // options (layer, batch); options that differ from the last call re-plan the scratch buffers.
  // With `dump`, also every intermediate of those methods (its masks flag asks for the masked
  // inputs too): the cost of copying them to the host.
  std::vector<Explanation> explain(const Image& image, const std::vector<Method>& methods,
                                   const ExplainOptions& options = {}, Dump* dump = nullptr);
  Explanation explain(const Image& image, Method method = Method::UnionCam,
                      const ExplainOptions& options = {});

  // The metrics of one explanation's map for the image it explains (with explanation.options).
  // `object_mask` (height x width of the map, non-zero = object) adds pointing and energy.
  // Cost: 1 forward and 1 backward, then 2 + 2 * (ceil(H / 2) + 1) forwards (228 for 224x224).
  Metrics evaluate(const Image& image, const Explanation& explanation,
                   const std::vector<uint8_t>* object_mask = nullptr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// ---- Outputs ---------------------------------------------------------------------------------

// The map over the image in JET colours: (1 - alpha) * image + alpha * jet(map at image size),
// as `unioncam explain` draws its overlays (only inside explanation.region; the image as it is
// outside). Cost: one resize of the map to the image's size.
Image overlay(const Image& image, const Explanation& explanation, float alpha = 0.5f);

// The map at the model's input size as a NumPy .npy (float32, height x width), written
// atomically: byte for byte what `unioncam explain --save-map` writes.
void write_map(const std::string& path, const Explanation& explanation);

}  // namespace unioncam
