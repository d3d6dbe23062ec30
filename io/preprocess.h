// How an image becomes the model's input, as the framework the model was trained with does it.
// The weights file may name its preprocessing (root attribute `preprocess`); the command line's
// --preprocess overrides it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "io/image.h"

namespace uc {

enum class Preprocess {
  Antialias,    // antialiased bilinear (PIL's BILINEAR) straight to the input size: the default
  Torchvision,  // torchvision's evaluation transform: the shorter side to 256 * input / 224
                // (antialiased, as Resize does on PIL images), then a centre crop to the input
  Keras,        // Keras' load_img(target_size=...): PIL's nearest neighbour to the input size
  Plain,        // bilinear with half-pixel centres, no antialiasing (unioncam before 0.7)
};
const char* preprocess_name(Preprocess p);  // "antialias", "torchvision", "keras", "plain"
const char* preprocess_choices();           // "antialias, torchvision, keras or plain"
bool parse_preprocess(const std::string& name, Preprocess* out);  // false when unknown

// The preprocessing to run: `option` (the command line's --preprocess; a Usage error when
// unknown) when given, else the weights file's own choice (`file_choice`, its `preprocess`
// attribute; a BadInput error naming `file` when unknown), else Antialias.
Preprocess choose_preprocess(const std::string& option, const std::string& file_choice,
                             const std::string& file);

// The part of the original image the model sees, as fractions of its width and height: the whole
// image (0, 0, 1, 1) unless the preprocessing crops.
struct ImageRegion {
  double left = 0, top = 0, right = 1, bottom = 1;
  bool whole() const { return left == 0 && top == 0 && right == 1 && bottom == 1; }
};

struct ModelImage {
  Image image;  // width x height, what the network is given (before normalization)
  ImageRegion region;
};
// `name` stands for the image in errors: torchvision's resize of a very long image (1 x 10^6
// pixels) would pass kMaxResizedPixels and is refused as bad input.
constexpr int64_t kMaxResizedPixels = int64_t(1) << 26;
ModelImage prepare_model_image(const Image& original, Preprocess p, int width, int height,
                               const std::string& name = "image");

// An object mask (any non-zero channel = object; any size, taken to cover the original image)
// at the model's input size: each model pixel takes the mask pixel under its centre.
std::vector<uint8_t> mask_for_model(const Image& mask, const ImageRegion& region, int width,
                                    int height);

}  // namespace uc
