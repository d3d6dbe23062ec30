// Internal to weights/: the two file layouts, each read into torchvision-named tensors.
#pragma once
#include "weights/hdf5_file.h"
#include "weights/weights.h"

namespace uc {

// A float dataset, rejected if it holds NaN or Inf (naming the dataset and the first bad index).
HostArray read_finite(const h5::File& f, const std::string& dataset);

// Keras files carry the layer list as a root attribute (split into name0, name1, ... when large).
bool is_keras_file(const h5::File& f);

ModelWeights read_torchvision(const h5::File& f);
ModelWeights read_keras(const h5::File& f);

}  // namespace uc
