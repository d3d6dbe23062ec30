#!/usr/bin/env bash
# Full-size random VGG16 at 224x224 against PyTorch: generated here (about 530 MB, kept in the
# build folder between runs), then checked by the doctest case "pytorch/full-size*".
# Exit 77 (reported as skipped by CTest) when PyTorch is not installed.
# Usage: tests/pytorch_full_test.sh path/to/unioncam_tests SOURCE_DIR BUILD_DIR
set -euo pipefail
tests=$1; src=$2; build=$3
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import torch, torchvision, h5py" 2>/dev/null; then
  echo "PyTorch, torchvision or h5py is not installed for $python: full-size comparison skipped"
  # The GPU check requires every comparison to run (UNIONCAM_REQUIRE_GPU=1): fail, not skip.
  [ "${UNIONCAM_REQUIRE_GPU:-0}" != 0 ] && exit 1
  exit 77
fi
dir=$build/full_vgg16
mkdir -p "$dir"
if [ ! -f "$dir/ref.h5" ]; then
  "$python" "$src/tools/export_vgg.py" --arch vgg16 --seed 0 "$dir/vgg16.h5.tmp" && mv "$dir/vgg16.h5.tmp" "$dir/vgg16.h5"
  "$python" "$src/scripts/make_reference.py" "$dir/vgg16.h5" "$dir/ref.h5.tmp" --batch 1 --seed 0 --target features.29 \
    && mv "$dir/ref.h5.tmp" "$dir/ref.h5"
fi
UNIONCAM_FULL_WEIGHTS=$dir/vgg16.h5 UNIONCAM_FULL_REF=$dir/ref.h5 "$tests" --no-intro=true -tc="pytorch/full-size*"
