#!/bin/bash
# Regenerates the small committed weight fixtures in tests/fixtures/ (fixed seeds: the same
# torch version gives the same files). Each export prints its parameter count, which
# tests/test_weights.cpp checks.
set -euo pipefail
PY=${PYTHON:-/usr/bin/python3}
cd "$(dirname "$0")/.."
T=tools
F=tests/fixtures
mkdir -p $F
names=$(mktemp)
trap 'rm -f "$names"' EXIT
for i in $(seq 0 9); do echo "class$i"; done > "$names"

# (a) narrow VGG11, 64x64 input, named classes.
$PY $T/export_vgg.py --arch vgg11 --seed 11 --width-div 8 --hidden 64 --classes 10 \
  --input-size 64 --class-names "$names" $F/vgg11_64.h5
$PY scripts/make_reference.py $F/vgg11_64.h5 $F/vgg11_64_ref.h5 --batch 2 --seed 1

# (b) narrow VGG16 with BatchNorm; features.42 is the ReLU after the last conv.
$PY $T/export_vgg.py --arch vgg16_bn --seed 16 --width-div 16 --hidden 32 --classes 7 \
  --input-size 64 $F/vgg16bn_64.h5
$PY scripts/make_reference.py $F/vgg16bn_64.h5 $F/vgg16bn_64_ref.h5 --batch 2 --seed 2 --target features.42

# (c) the same narrow VGG16 in the Keras and torchvision layouts (224 input: fc1 sees 7x7).
$PY $T/export_vgg.py --arch vgg16 --seed 6 --width-div 16 --hidden 32 --classes 5 \
  --input-size 224 --keras $F/vgg16_keras_small.h5 $F/vgg16_keras_small_tv.h5
$PY scripts/make_reference.py $F/vgg16_keras_small_tv.h5 $F/vgg16_keras_small_tv_ref.h5 --batch 1 --seed 3

# (d) one tiny model stored as float16, and the same (half-representable) values as float64.
$PY $T/export_vgg.py --arch vgg11 --seed 5 --width-div 32 --hidden 8 --classes 3 \
  --input-size 32 --dtype float16 $F/vgg11_tiny_f16.h5
$PY $T/export_vgg.py --from-h5 $F/vgg11_tiny_f16.h5 --dtype float64 $F/vgg11_tiny_f64.h5
