#!/usr/bin/env bash
# The study behind docs/mechanics.md: why UnionCAM trails Score-CAM and Group-CAM on Deletion and
# Overall on the demo model while leading on Average Drop and Increase. On the first N test
# images of the demo data set (with object masks): UnionCAM's dumps, every region method's
# metrics per image, and UnionCAM's metrics with θ = 90 and with Group-CAM as the region map;
# then scripts/mechanics_study.py reads them all and prints the tables (figures into OUT).
#   scripts/mechanics_study.sh BUILD OUT [N] [WEIGHTS]
set -euo pipefail
build=${1:?usage: mechanics_study.sh BUILD OUT [N] [WEIGHTS]}
out=${2:?usage: mechanics_study.sh BUILD OUT [N] [WEIGHTS]}
n=${3:-200}
weights=${4:-models/fashion_vgg16bn.h5}
python=${PYTHON:-/usr/bin/python3}
here=$(dirname "$0")
bin=$build/unioncam
mkdir -p "$out"
bash "$here/quality_data.sh" "$out/data" "$n"
images=$out/data/test/images; masks=$out/data/test/masks
run() { "$bin" "$@" --weights "$weights" --quiet --force; }

run explain --method unioncam --dump "$out/unioncam.h5" --out "$out/overlays" "$images" >/dev/null
run eval --images "$images" --masks "$masks" --methods scorecam,groupcam,unioncam \
  --per-image "$out/base.csv" --json >"$out/base.json"
# θ below the share of non-positive gradients changes nothing (the study shows it from the dumps):
# only a high θ is worth its evaluation.
run eval --images "$images" --masks "$masks" --methods unioncam --theta 90 --per-image "$out/theta90.csv" --json >/dev/null
run eval --images "$images" --masks "$masks" --methods unioncam --region groupcam --per-image "$out/groupcam.csv" --json >/dev/null
"$python" "$here/mechanics_study.py" "$out" "$masks"
