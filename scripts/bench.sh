#!/usr/bin/env bash
# `make bench`: this runtime and PyTorch (when installed) on the same machine, in one run,
# with their ratio. Writes BUILD/bench.json. Usage:
#   scripts/bench.sh BUILD [--device D] [--precision P] [--batch N] [--methods all|gradcam,...]
# --methods adds a second table: each CAM method's one-image latency and peak memory, both sides
# (bench.json's "cam" section).
set -euo pipefail
build=${1:-build}; shift || true
device=cpu; precision=fp32; batch=32; methods=""  # PyTorch side: batch 32 (bench_pytorch.py)
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2;;
    --precision) precision=$2; shift 2;;
    --batch) batch=$2; shift 2;;
    --methods) methods=$2; shift 2;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2;;
  esac
done
python=${PYTHON:-/usr/bin/python3}
echo "machine: $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (Haswell runs OpenBLAS at about half its AVX-512 speed)"
ours=$("$build/unioncam" bench --device "$device" --precision "$precision" --batch "$batch" --json)
echo "unioncam: $ours"
theirs=""; have_torch=""
"$python" -c "import torch, torchvision" 2>/dev/null && have_torch=1
tf32=""; [ "$precision" = tf32 ] && tf32="--tf32"; [ "$precision" = bf16 ] && tf32="--bf16"
if [ -n "$have_torch" ]; then
  theirs=$("$python" "$(dirname "$0")/bench_pytorch.py" --device "$device" --gradcam $tf32)
  echo "pytorch:  $theirs"
else
  echo "pytorch:  not installed, no ratio"
fi
ours_cam=""; theirs_cam=""
if [ -n "$methods" ]; then
  ours_cam=$("$build/unioncam" bench --device "$device" --precision "$precision" --methods "$methods" --json)
  echo "unioncam CAM: $ours_cam"
  if [ -n "$have_torch" ]; then
    theirs_cam=$("$python" "$(dirname "$0")/bench_pytorch.py" --device "$device" --methods "$methods" $tf32)
    echo "pytorch CAM:  $theirs_cam"
  fi
fi
"$python" - "$ours" "$theirs" "$build/bench.json" "$ours_cam" "$theirs_cam" <<'PY'
import json, sys
ours = json.loads(sys.argv[1]); theirs = json.loads(sys.argv[2]) if sys.argv[2] else None
ours_cam = json.loads(sys.argv[4]) if sys.argv[4] else None
theirs_cam = json.loads(sys.argv[5]) if sys.argv[5] else None
rows = [("forward, batch 1 (ms)", "batch1_ms", "batch1_ms", False),
        (f"forward, batch {ours['batch']} (img/s)", "batch_img_s", "batch32_img_s", True),
        ("forward+backward to target, batch 1 (ms)", "fwd_bwd_ms", "fwd_bwd_ms", False)]
print(f"\n{'what':<42}{'unioncam':>12}{'pytorch':>12}{'speed-up':>10}")
for label, k_ours, k_theirs, higher in rows:
    a = ours.get(k_ours); b = theirs.get(k_theirs) if theirs else None
    ratio = (a / b if higher else b / a) if (a and b) else None
    print(f"{label:<42}{a:>12.2f}{(b if b else float('nan')):>12.2f}" + (f"{ratio:>9.2f}x" if ratio else f"{'-':>10}"))

def mb(entry):
    return f"{entry['peak_bytes'] / 2**20:.0f}" if entry and entry.get("peak_bytes") is not None else "-"

if ours_cam:
    print(f"\nCAM, one {ours_cam['input']}x{ours_cam['input']} image, {ours_cam['precision']}, "
          f"masked inputs per forward: unioncam {ours_cam['batch']}, pytorch {theirs_cam['batch'] if theirs_cam else '-'}")
    print(f"{'method':<12}{'unioncam ms':>13}{'pytorch ms':>12}{'speed-up':>10}{'unioncam MB':>13}{'pytorch MB':>12}")
    for name, a in ours_cam["methods"].items():
        b = theirs_cam["methods"].get(name) if theirs_cam else None
        speedup = f"{b['ms'] / a['ms']:>9.2f}x" if b else f"{'-':>10}"
        print(f"{name:<12}{a['ms']:>13.2f}{(b['ms'] if b else float('nan')):>12.2f}{speedup}{mb(a):>13}{mb(b):>12}")
    for name, a in ours_cam["methods"].items():
        if "live_channels" in a:
            dead = ours_cam["channels"] - a["live_channels"]
            print(f"{name}: {a['live_channels']} of {ours_cam['channels']} channels at {ours_cam['target_layer']} "
                  f"vary, {a['masked_inputs']} masked inputs forwarded"
                  + (f" ({dead} constant channels skipped)" if dead else ""))
cam = {"unioncam": ours_cam, "pytorch": theirs_cam} if ours_cam else None
json.dump({"unioncam": ours, "pytorch": theirs, "cam": cam}, open(sys.argv[3], "w"), indent=1)
PY
echo "results written to $build/bench.json"
