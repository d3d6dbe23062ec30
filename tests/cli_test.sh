#!/usr/bin/env bash
# End-to-end checks of the `unioncam` binary: exit codes, messages, JSON shapes.
# Usage: tests/cli_test.sh path/to/unioncam SOURCE_DIR
set -u
bin=$1; src=$2
weights=$src/tests/fixtures/vgg11_64.h5
images=("$src"/tests/fixtures/images/*.png)
source "$src/tests/cli_lib.sh"

expect 2 "usage" -- "$bin"
expect 0 "commands" -- "$bin" --help
expect 2 "unknown command" -- "$bin" frobnicate
expect 0 "cpu convolutions:" -- "$bin" --version
expect 0 "device: " -- "$bin" version
expect 0 "usage: unioncam predict" -- "$bin" predict --help
expect 0 "vgg11" -- "$bin" info --weights "$weights"
expect 0 '"arch"' -- "$bin" info --weights "$weights" --json
"$bin" info --weights "$weights" --json >"$tmp/info.json"
json_check "$tmp/info.json" "d['arch']=='vgg11' and d['batchnorm'] is False and d['classes']==len(d['class_names']) and d['input_size']==64 and d['params']>0"
# Without --weights: $UNIONCAM_WEIGHTS, else the bundled demo model (found beside the build tree).
expect 0 "fashion_vgg16bn.h5 (the bundled demo model" -- "$bin" info
expect 0 "vgg16_bn" -- "$bin" info
expect 0 "vgg11" -- env UNIONCAM_WEIGHTS="$weights" "$bin" info
expect 0 "(from UNIONCAM_WEIGHTS)" -- env UNIONCAM_WEIGHTS="$weights" "$bin" info
expect 3 "$tmp/missing.h5" -- env UNIONCAM_WEIGHTS="$tmp/missing.h5" "$bin" info
expect 0 "--weights W.h5 for your own" -- "$bin" predict --device cpu "${images[0]}"
expect 0 "Ankle boot" -- "$bin" predict --device cpu --quiet --topk 10 "${images[0]}"
expect 0 "gradcam" -- "$bin" explain --device cpu --quiet --method gradcam --out "$tmp/default_weights" "${images[0]}"
"$bin" predict --device cpu --quiet "${images[0]}" >"$tmp/out" 2>"$tmp/err"
count=$((count + 1))
if [ -s "$tmp/err" ]; then failures=$((failures + 1)); echo "FAIL: --quiet still notes the default weights"; cat "$tmp/err"; fi
expect 3 "$tmp/missing.h5" -- "$bin" info --weights "$tmp/missing.h5"
echo "not weights" >"$tmp/text.h5"
expect 3 "$tmp/text.h5" -- "$bin" info --weights "$tmp/text.h5"
head -c 3000 "$weights" >"$tmp/truncated.h5"
expect 3 "$tmp/truncated.h5" -- "$bin" info --weights "$tmp/truncated.h5"

expect 2 "unknown option --bogus" -- "$bin" predict --weights "$weights" --bogus "${images[0]}"
expect 2 "no images" -- "$bin" predict --weights "$weights"
expect 2 "fp32, tf32 or bf16" -- "$bin" predict --weights "$weights" --precision fp8 "${images[0]}"
expect 2 "--topk" -- "$bin" predict --weights "$weights" --topk 0 "${images[0]}"
expect 2 "multiples of 32" -- "$bin" predict --weights "$weights" --input-size 50 "${images[0]}"
expect 2 "auto, cpu or cuda" -- "$bin" predict --weights "$weights" --device tpu "${images[0]}"
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  expect 4 "cuda" -- "$bin" predict --weights "$weights" --device cuda "${images[0]}"
fi
expect 0 "1." -- "$bin" predict --weights "$weights" --device cpu "${images[@]}"
"$bin" predict --weights "$weights" --device cpu --topk 3 --json "${images[@]}" >"$tmp/pred.json"
json_check "$tmp/pred.json" "d['weights']=='$weights' and d['device']=='cpu' and len(d['images'])==${#images[@]} and all(len(i['top'])==3 for i in d['images'])"
json_check "$tmp/pred.json" "all(i['top'][0]['prob']>=i['top'][1]['prob']>=i['top'][2]['prob'] and 0<i['top'][0]['prob']<=1 for i in d['images'])"
# Same image at a larger input size runs (resized), and a bad image is skipped with exit 3.
expect 0 "1." -- "$bin" predict --weights "$weights" --device cpu --input-size 96x128 "${images[0]}"
echo "garbage" >"$tmp/bad.png"
expect 3 "$tmp/bad.png" -- "$bin" predict --weights "$weights" --device cpu "$tmp/bad.png" "${images[0]}"
grep -qF "${images[0]}" "$tmp/out" || { failures=$((failures + 1)); echo "FAIL: good image not processed after a bad one"; }


# explain: usage errors come before any work, outputs are written and readable.
img=${images[0]}
expect 2 "unknown CAM method" -- "$bin" explain --weights "$weights" --method bogus "$img"
expect 2 "features.999" -- "$bin" explain --weights "$weights" --layer features.999 "$img"
expect 2 "classifier.0" -- "$bin" explain --weights "$weights" --layer classifier.0 "$img"
expect 2 "out of range" -- "$bin" explain --weights "$weights" --class 10 "$img"
expect 2 "matches no class" -- "$bin" explain --weights "$weights" --class zebra "$img"
expect 2 "--theta" -- "$bin" explain --weights "$weights" --theta 101 "$img"
expect 2 "--batch" -- "$bin" explain --weights "$weights" --batch 0 "$img"
expect 0 "gradcam" -- "$bin" explain --weights "$weights" --device cpu --method gradcam --class class3 --out "$tmp/ex" "$img"
"$bin" explain --weights "$weights" --device cpu --method all --save-map --force --json --out "$tmp/ex" "${images[@]}" >"$tmp/ex.json" 2>"$tmp/err"
json_check "$tmp/ex.json" "d['weights']=='$weights' and len(d['images'])==${#images[@]} and all(len(i['methods'])==5 for i in d['images'])"
json_check "$tmp/ex.json" "all(m['selected'] in ('fused','region') and 'beta_dr' in m and m['theta']==10 for m in (i['methods']['unioncam'] for i in d['images']))"
count=$((count + 1))
if ! "$python" - "$tmp/ex.json" <<'PY'
import json, struct, sys, numpy as np
d = json.load(open(sys.argv[1]))
for img in d["images"]:
    with open(img["path"], "rb") as f: want = struct.unpack(">II", f.read(24)[16:24])
    for name, m in img["methods"].items():
        a = np.load(m["map"])
        assert a.dtype == np.float32 and a.shape == (64, 64) and a.min() >= 0 and a.max() <= 1, (name, a.shape)
        with open(m["overlay"], "rb") as f: got = struct.unpack(">II", f.read(24)[16:24])
        assert got == want, (m["overlay"], got, want)  # overlays at the original image size
PY
then failures=$((failures + 1)); echo "FAIL: explain outputs (.npy maps, overlay sizes)"; fi

# eval: a table, JSON with every metric; masks covering everything give pointing = energy = 100.
mkdir -p "$tmp/masks"; for f in "${images[@]}"; do cp "$f" "$tmp/masks/"; done
expect 3 "$tmp/nowhere" -- "$bin" eval --weights "$weights" --device cpu --images "$tmp/nowhere"
expect 0 "Insertion" -- "$bin" eval --weights "$weights" --device cpu --images "$src/tests/fixtures/images" --methods gradcam --limit 1
"$bin" eval --weights "$weights" --device cpu --images "$src/tests/fixtures/images" --masks "$tmp/masks" --methods gradcam,unioncam --json >"$tmp/eval.json" 2>"$tmp/err"
json_check "$tmp/eval.json" "d['weights']=='$weights' and d['n_images']==${#images[@]} and set(d['methods'])=={'gradcam','unioncam'}"
json_check "$tmp/eval.json" "all(abs(m['pointing']-100)<1e-9 and abs(m['energy']-100)<1e-6 and abs(m['overall']-(m['insertion']-m['deletion']))<1e-6 for m in d['methods'].values())"
# --per-image: the per-image rows reproduce the JSON's means and 95 % half-widths.
"$bin" eval --weights "$weights" --device cpu --images "$src/tests/fixtures/images" --methods gradcam,scorecam \
  --per-image "$tmp/rows.csv" --json --quiet >"$tmp/eval2.json"
count=$((count + 1))
if ! "$python" - "$tmp/eval2.json" "$tmp/rows.csv" <<'PY'
import csv, json, math, sys
d = json.load(open(sys.argv[1])); rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == 2 * d["n_images"], len(rows)
for method, m in d["methods"].items():
    for key, col, scale in [("avg_drop", "drop", 1), ("avg_increase", "increase", 100), ("insertion", "insertion", 1),
                            ("deletion", "deletion", 1), ("overall", "overall", 1)]:
        v = [scale * float(r[col]) for r in rows if r["method"] == method]
        mean = sum(v) / len(v)
        half = 1.96 * math.sqrt(sum((x - mean) ** 2 for x in v) / (len(v) - 1) / len(v))
        assert abs(mean - m[key]) < 1e-4 and abs(half - m["ci95"][key]) < 1e-4, (method, key, mean, m[key], half, m["ci95"][key])
    assert m["pointing"] is None and m["ci95"]["pointing"] is None
PY
then failures=$((failures + 1)); echo "FAIL: eval --per-image rows against the JSON means and ci95"; fi

# bench --methods on the small fixture: every method timed, memory counted, Score-CAM's channels.
"$bin" bench --weights "$weights" --device cpu --methods all --json >"$tmp/bench.json" 2>"$tmp/err"
json_check "$tmp/bench.json" "list(d['methods'])==['gradcam','gradcampp','scorecam','groupcam','unioncam'] and d['batch']==32"
json_check "$tmp/bench.json" "all(m['ms']>0 and m['peak_bytes']>0 for m in d['methods'].values()) and 0<d['methods']['scorecam']['live_channels']<=d['channels']"
json_check "$tmp/bench.json" "d['methods']['unioncam']['masked_inputs'] in (d['methods']['unioncam']['live_channels']+3, d['methods']['unioncam']['live_channels']+4)"
expect 2 "unknown" -- "$bin" bench --weights "$weights" --device cpu --methods gradcam,nosuchcam
# bench --profile: the batch forward part by part, every fused step and classifier layer named.
"$bin" bench --weights "$weights" --device cpu --batch 2 --runs 1 --profile --json >"$tmp/prof.json" 2>"$tmp/err"
json_check "$tmp/prof.json" "[p['part'] for p in d['profile']][:2]==['features.0-1 conv','features.2 pool'] and d['profile'][-1]['part']=='classifier.6' and all(p['ms']>=0 for p in d['profile'])"
expect 0 "part by part" -- "$bin" bench --weights "$weights" --device cpu --batch 2 --runs 1 --profile

# --max-memory: the masked-input batch is halved until it fits; the maps do not change.
"$bin" explain --weights "$weights" --device cpu --method scorecam --save-map --out "$tmp/cap0" "$img" >/dev/null 2>&1
expect 0 "retrying with" -- "$bin" explain --weights "$weights" --device cpu --method scorecam --save-map \
  --max-memory 6 --out "$tmp/cap" "$img"
count=$((count + 1))
"$python" -c "import numpy as n,sys; a=n.load(sys.argv[1]); b=n.load(sys.argv[2]); sys.exit(0 if n.abs(a-b).max()<1e-5 else 1)" \
  "$tmp/cap0/$(basename "${img%.*}")_scorecam.npy" "$tmp/cap/$(basename "${img%.*}")_scorecam.npy" \
  || { failures=$((failures + 1)); echo "FAIL: Score-CAM changed when the batch was halved"; }
expect 4 "exceed the limit" -- "$bin" explain --weights "$weights" --device cpu --max-memory 1 --out "$tmp/cap1" "$img"

# --preprocess: the choice is checked before any work, said in every JSON document, and a
# weights file's own `preprocess` attribute is the default (a bad one names the file).
expect 2 "--preprocess expects antialias, torchvision, keras or plain, got 'pil'" -- "$bin" predict --weights "$weights" --preprocess pil "${images[0]}"
expect 2 "--preprocess expects" -- "$bin" explain --weights "$weights" --preprocess pil "${images[0]}"
"$bin" predict --weights "$weights" --device cpu --quiet --json "${images[0]}" >"$tmp/pp.json"
json_check "$tmp/pp.json" "d['preprocess'] == 'antialias'"
"$bin" explain --weights "$weights" --device cpu --quiet --json --method gradcam --preprocess keras --out "$tmp/pp" "${images[0]}" >"$tmp/pp.json"
json_check "$tmp/pp.json" "d['preprocess'] == 'keras'"
"$bin" eval --weights "$weights" --device cpu --quiet --json --methods gradcam --preprocess plain --images "${images[0]}" >"$tmp/pp.json"
json_check "$tmp/pp.json" "d['preprocess'] == 'plain'"
cp "$weights" "$tmp/pp_torchvision.h5"
cp "$weights" "$tmp/pp_bad.h5"
"$python" -c "import h5py, sys; h5py.File(sys.argv[1], 'a').attrs['preprocess'] = 'torchvision'; h5py.File(sys.argv[2], 'a').attrs['preprocess'] = 'caffe'" \
  "$tmp/pp_torchvision.h5" "$tmp/pp_bad.h5"
"$bin" predict --weights "$tmp/pp_torchvision.h5" --device cpu --quiet --json "${images[0]}" >"$tmp/pp.json"
json_check "$tmp/pp.json" "d['preprocess'] == 'torchvision'"
expect 0 '"preprocess":"plain"' -- "$bin" predict --weights "$tmp/pp_torchvision.h5" --device cpu --quiet --json --preprocess plain "${images[0]}"
expect 3 "$tmp/pp_bad.h5: attribute 'preprocess' says 'caffe'" -- "$bin" predict --weights "$tmp/pp_bad.h5" --device cpu "${images[0]}"

finish cli
