// Image files in and out (stb_image / stb_image_write) and the two pixel operations every
// pipeline needs before the network: bilinear resize and per-channel normalization.
#pragma once
#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace uc {

// HWC interleaved RGB, row-major from the top-left pixel, values in [0,1].
struct Image {
  int width = 0, height = 0;
  std::vector<float> rgb;
};

constexpr size_t kDefaultMaxPixels = 100'000'000;

// Anything stb_image decodes (JPEG, PNG, BMP, GIF's first frame, TGA, PSD, PNM).
// Grayscale is replicated to RGB; an alpha channel is dropped, not composited (CAM inputs are
// photographs; a background colour would be a guess). 16-bit PNGs keep their precision
// (scaled by 1/65535), 8-bit data is scaled by 1/255. EXIF orientation is not applied, as with
// PIL's Image.open. Images over `max_pixels` are refused before decoding (header only).
// Bad files throw uc::Error (BadInput) naming the path.
Image load_image(const std::string& path, size_t max_pixels = kDefaultMaxPixels);
// `name` stands in for the path in error messages.
Image load_image_from_memory(const unsigned char* bytes, size_t size, const std::string& name,
                             size_t max_pixels = kDefaultMaxPixels);

// 8-bit interleaved RGB (width*height*3 bytes) as an Image, scaled by 1/255 exactly as a decoded
// 8-bit file is; and back, each value clamped to [0,1] and rounded (as save_png writes it).
Image image_from_rgb8(const unsigned char* rgb, int width, int height);
std::vector<unsigned char> image_to_rgb8(const Image& img);

// Bilinear with half-pixel centres (align_corners=False), no antialiasing: the same values as
// PyTorch's F.interpolate(mode='bilinear', align_corners=False) and cv2.resize INTER_LINEAR on
// float data. Returns an exact copy when the size already matches.
Image resize_bilinear(const Image& img, int width, int height);

// PIL's Image.resize(..., BILINEAR), which torchvision's Resize applies to PIL images: a triangle
// filter whose support widens with the scale factor when shrinking (antialiasing), so every
// source pixel under an output pixel counts; horizontal pass first, then vertical. Computed as
// PIL computes it on 8-bit images (the image taken to 8 bits, 22-bit fixed-point weights, 8-bit
// results after each pass), which is what a model trained through torchvision saw: byte for
// byte PIL's result.
Image resize_antialiased(const Image& img, int width, int height);
// PIL's Image.resize(..., NEAREST), which Keras' load_img(target_size=...) uses: output pixel x
// takes source pixel floor((x + 0.5) * in / out), that product accumulated step by step in
// double as PIL does (which decides exact half-way points).
Image resize_nearest(const Image& img, int width, int height);

// [3,H,W] channel planes of (I - mean[c]) / std[c].
std::vector<float> to_normalized_chw(const Image& img, const std::array<float, 3>& mean,
                                     const std::array<float, 3>& std);

// 8-bit RGB PNG (values clamped to [0,1], rounded). Written to a temporary name in the same
// folder and renamed into place, so `path` is either the old file or the complete new one.
void save_png(const std::string& path, const Image& img);
// Baseline JPEG (quality 1..100), written atomically like save_png.
void save_jpeg(const std::string& path, const Image& img, int quality);

}  // namespace uc
