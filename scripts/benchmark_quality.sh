#!/usr/bin/env bash
# `make benchmark-quality`: how well each CAM method explains the bundled demo model, on data
# where the object's location is known. Generates the test split of scripts/make_dataset.py
# (seed 0; images with object masks), runs `unioncam eval` over it with all five methods
# (Average Drop/Increase, Insertion/Deletion, Overall, pointing game, energy-based pointing game)
# and writes OUT/report.md: that table beside the UnionCAM paper's ImageNet table, and where the
# rankings agree. Usage:
#   scripts/benchmark_quality.sh BUILD OUT [N] [WEIGHTS]
set -euo pipefail
build=${1:?usage: benchmark_quality.sh BUILD OUT [N] [WEIGHTS]}
out=${2:?usage: benchmark_quality.sh BUILD OUT [N] [WEIGHTS]}
n=${3:-200}
weights=${4:-models/fashion_vgg16bn.h5}
python=${PYTHON:-/usr/bin/python3}
here=$(dirname "$0")
data=$out/data

mkdir -p "$out"
bash "$here/quality_data.sh" "$data" "$n"

"$build/unioncam" predict --weights "$weights" --topk 1 --json --quiet "$data/test/images" >"$out/predict.json"
start=$(date +%s)
"$build/unioncam" eval --weights "$weights" --images "$data/test/images" --masks "$data/test/masks" \
  --methods all --curves "$out" --per-image "$out/per_image.csv" --force --json >"$out/eval.json"
seconds=$(( $(date +%s) - start ))
"$python" "$here/quality_report.py" --eval "$out/eval.json" --predict "$out/predict.json" \
  --labels "$data/test/labels.csv" --per-image "$out/per_image.csv" --weights "$weights" --seconds "$seconds" --out "$out/report.md"
cat "$out/report.md"
echo "report: $out/report.md; curves: $out/insertion.svg $out/deletion.svg"
