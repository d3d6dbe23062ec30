#!/usr/bin/env bash
# Preprocessing against PIL and torchvision themselves: every resize and crop within one 8-bit
# level (the doctest case "pil/*" on images and results written here by
# scripts/preprocess_reference.py); whole-pipeline logits of a real photograph (skimage's chelsea,
# 451x300) through a full-size VGG16 against torchvision's Resize(256) + CenterCrop(224) path and
# against Keras' nearest path (emulated with PIL), both within 1e-4; and where the overlay of a
# cropped run is drawn. Exit 77 (skipped) without PIL, torchvision, h5py or skimage.
# Usage: tests/preprocess_test.sh path/to/unioncam_tests path/to/unioncam SOURCE_DIR BUILD_DIR
set -u
tests=$1; bin=$2; src=$3; build=$4
python=${PYTHON:-/usr/bin/python3}
if ! "$python" -c "import PIL, torch, torchvision, h5py, skimage" 2>/dev/null; then
  echo "PIL, PyTorch, torchvision, h5py or skimage is not installed for $python: skipped"
  exit 77
fi
source "$src/tests/cli_lib.sh"

count=$((count + 1))
if ! "$python" "$src/scripts/preprocess_reference.py" "$tmp/pil" >/dev/null ||
   ! UNIONCAM_PIL_CASES=$tmp/pil "$tests" --no-intro=true -tc="pil/*" >"$tmp/pil.log" 2>&1; then
  failures=$((failures + 1)); echo "FAIL: resizes against PIL"; tail -20 "$tmp/pil.log"
else
  grep MESSAGE "$tmp/pil.log" | sed 's/^.*MESSAGE: /  /'
fi

# The full-size VGG16 the pytorch_vgg16_full test uses (generated once into the build folder).
dir=$build/full_vgg16
mkdir -p "$dir"
if [ ! -f "$dir/vgg16.h5" ]; then
  "$python" "$src/tools/export_vgg.py" --arch vgg16 --seed 0 "$dir/vgg16.h5.tmp" >/dev/null &&
    mv "$dir/vgg16.h5.tmp" "$dir/vgg16.h5"
fi
photo=$tmp/pil/chelsea_451x300.png
for p in torchvision keras; do
  "$bin" predict --device cpu --quiet --json --topk 1000 --preprocess "$p" --weights "$dir/vgg16.h5" \
    "$photo" >"$tmp/$p.json"
done
check "logits of the photograph as torchvision (Resize + CenterCrop) and Keras (PIL nearest) prepare it" '
import json, sys, numpy as np, torch
from PIL import Image
from torchvision import transforms
sys.path.insert(0, sys.argv[4] + "/tools")
import vgg_common as vc
state, attrs = vc.read_torchvision_h5(sys.argv[3])
model = vc.model_from_state_dict(state, str(attrs["arch"])).eval()
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
img = Image.open(sys.argv[5]).convert("RGB")
paths = {
    "torchvision": transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)]),
    "keras": lambda im: im.resize((224, 224), Image.NEAREST),
}
for name, doc in (("torchvision", sys.argv[1]), ("keras", sys.argv[2])):
    x = transforms.Normalize(mean, std)(transforms.ToTensor()(paths[name](img)))[None]
    with torch.no_grad():
        want = model(x)[0].numpy()
    d = json.load(open(doc))
    assert d["preprocess"] == name, d["preprocess"]
    got = np.zeros_like(want)
    for t in d["images"][0]["top"]:
        got[t["class"]] = t["logit"]
    err = np.abs(got - want).max() / np.abs(want).max()
    print(f"  {name}: logits within {err:.1e} of the largest (top-1 {int(got.argmax())} vs {int(want.argmax())})")
    assert err < 1e-4, (name, err)
    assert got.argmax() == want.argmax()
' "$tmp/torchvision.json" "$tmp/keras.json" "$dir/vgg16.h5" "$src" "$photo"

# A cropped run's overlay: the original outside the crop, coloured inside; the map stays 64x64.
"$bin" explain --device cpu --quiet --json --method gradcam --save-map --preprocess torchvision \
  --weights "$src/tests/fixtures/vgg11_64.h5" --out "$tmp/crop" "$photo" >"$tmp/crop.json"
check "the overlay of a cropped run covers the crop only" '
import json, sys, numpy as np
from PIL import Image
d = json.load(open(sys.argv[1]))
assert d["preprocess"] == "torchvision"
m = d["images"][0]["methods"]["gradcam"]
assert np.load(m["map"]).shape == (64, 64)
orig = np.asarray(Image.open(sys.argv[2]).convert("RGB")).astype(int)
over = np.asarray(Image.open(m["overlay"]).convert("RGB")).astype(int)
h, w = orig.shape[:2]
# torchvision: shorter side 300 -> round(256 * 64 / 224) = 73, longer int(73 * 451 / 300) = 109;
# the crop starts at round((109 - 64) / 2) = 22 (halves to even) across, round(4.5) = 4 down.
rw, rh, left, top = 109, 73, 22, 4
x0, x1 = round(left / rw * w), round((left + 64) / rw * w)
y0, y1 = round(top / rh * h), round((top + 64) / rh * h)
inside = np.zeros((h, w), bool)
inside[y0:y1, x0:x1] = True
same = (over == orig).all(axis=2)
assert same[~inside].all(), "pixels outside the crop were coloured"
assert (~same[inside]).mean() > 0.9, "the crop is not coloured"
' "$tmp/crop.json" "$photo"
finish preprocess
