#!/bin/bash
# Regenerates the CAM reference fixtures in tests/fixtures/cam/ with scripts/cam_reference.py, from
# the small weight fixtures (fixed images and seeds: the same torch version gives the same files).
# Weight edits (--edit) are recorded in each file and applied again by the C++ test, so no weight
# copies are committed.
set -euo pipefail
PY=${PYTHON:-/usr/bin/python3}
cd "$(dirname "$0")/.."
F=tests/fixtures
O=$F/cam
IMG=$F/images
mkdir -p $O
ref() { $PY scripts/cam_reference.py "$@"; }
V11=$F/vgg11_64.h5
V16=$F/vgg16bn_64.h5

# Default options (features.19, 64 channels of 4x4; this image has a dead channel).
ref $V11 $O/vgg11_default.h5 --image $IMG/shapes_64.png
# A user class that is not the top-1.
ref $V11 $O/vgg11_class7.h5 --image $IMG/shapes_64b.png --class 7
# The extreme percentiles of the denoising step.
ref $V11 $O/vgg11_theta0.h5 --image $IMG/shapes_64b.png --theta 0
ref $V11 $O/vgg11_theta100.h5 --image $IMG/shapes_64.png --theta 100
# Pixel mask space (masked-out pixels black before normalization); logit scores.
ref $V11 $O/vgg11_pixel.h5 --image $IMG/shapes_64b.png --mask-space pixel
ref $V11 $O/vgg11_logit.h5 --image $IMG/shapes_64.png --score logit
# Group-CAM as UnionCAM's region map; 24 groups of 3 channels give 22 chunks (fewer than G).
ref $V11 $O/vgg11_groupcam.h5 --image $IMG/shapes_64b.png --region groupcam --groups 24
# A non-default layer: the ReLU after the 9th convolution of VGG16-BN (32 channels of 8x8).
ref $V16 $O/vgg16bn_layer32.h5 --image $IMG/shapes_64.png --layer features.32
# Both UnionCAM selections, found by searching seeded random images and classes.
ref $V16 $O/vgg16bn_fused.h5 --image random:1 --require fused
ref $V11 $O/vgg11_region.h5 --image random:1 --require region --mask-space pixel
# Dead channels for certain: four filters of the last convolution zeroed.
dead=()
for k in 0 1 2 3; do dead+=(--edit "features.18.weight[$k]=0" --edit "features.18.bias[$k]=0"); done
ref $V11 $O/vgg11_dead.h5 --image $IMG/shapes_64b.png "${dead[@]}"
# A map constant everywhere: the last convolution's bias so negative that its ReLU is all zero.
ref $V11 $O/vgg11_constant.h5 --image $IMG/shapes_64.png --edit 'features.18.bias[:]=-1000'

$PY - $O <<'PY'
import glob, sys
import h5py, numpy as np
files = sorted(glob.glob(sys.argv[1] + "/*.h5"))
attrs = {f: h5py.File(f, "r") for f in files}
sel = {h["unioncam"].attrs["selected"] for h in attrs.values()}
assert sel == {"fused", "region"}, f"UnionCAM selections covered: {sel}"
assert max(h.attrs["constant_channels"] for h in attrs.values()) >= 1, "no fixture has a dead channel"
c7 = attrs[sys.argv[1] + "/vgg11_class7.h5"]
assert int(np.argmax(c7["logits"][()])) != 7, "class 7 is the top-1: pick another"
const = attrs[sys.argv[1] + "/vgg11_constant.h5"]
assert all(const[m].attrs["degenerate"] for m in ("gradcam", "gradcampp", "scorecam", "groupcam", "unioncam"))
total = sum(__import__("os").path.getsize(f) for f in files)
assert total <= 2 * 1024 * 1024, f"fixtures take {total} bytes"
print(f"{len(files)} fixtures, {total} bytes; selections {sorted(sel)}")
PY
