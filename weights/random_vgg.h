// Random VGG weights built in memory (no file): for benchmarks and backend comparisons.
#pragma once
#include <cstdint>

#include "weights/weights.h"

namespace uc {

// torchvision's VGG with Kaiming-normal convolutions (fan_out, ReLU gain), N(0, 0.01) linear
// layers and zero biases; BatchNorm layers get random running statistics and affine
// parameters so they are not the identity. Conv widths are divided by `width_div` and the
// classifier hidden width is `hidden` (4096 in torchvision).
ModelWeights random_vgg_weights(int depth, bool batchnorm, int classes, uint32_t seed,
                                int width_div = 1, int hidden = 4096, int input_size = 224);

}  // namespace uc
