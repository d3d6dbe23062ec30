// Turning explanation maps into files people and programs read: a JET-coloured overlay on the
// image, and the raw map as a NumPy .npy array.
#pragma once
#include <string>
#include <vector>

#include "cam/image.h"

namespace uc {

// OpenCV's COLORMAP_JET: value in [0,1] -> RGB in [0,1] (blue, cyan, yellow, red).
void jet_color(float value, float rgb[3]);

// The map (map_w x map_h, values in [0,1]) resized bilinearly to the image's size, coloured with
// JET and blended: out = (1 - alpha) * image + alpha * jet(map).
Image overlay_map(const Image& image, const std::vector<float>& map, int map_w, int map_h,
                  float alpha = 0.5f);

// float32 little-endian array of shape [height, width], NumPy format 1.0; written atomically.
void save_npy(const std::string& path, const std::vector<float>& values, int height, int width);

}  // namespace uc
