#!/usr/bin/env bash
# `make bench`: this runtime and PyTorch (when installed) on the same machine, in one run,
# with their ratio. Writes BUILD/bench.json. Usage: tools/bench.sh BUILD [--device D] [--precision P]
set -euo pipefail
build=${1:-build}; shift || true
device=cpu; precision=fp32; batch=32  # PyTorch side: batch 32 (bench_pytorch.py)
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=$2; shift 2;;
    --precision) precision=$2; shift 2;;
    --batch) batch=$2; shift 2;;
    *) echo "bench.sh: unknown option $1" >&2; exit 2;;
  esac
done
python=${PYTHON:-/usr/bin/python3}
echo "machine: $(nproc) cores; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset} (Haswell runs OpenBLAS at about half its AVX-512 speed)"
ours=$("$build/unioncam" bench --device "$device" --precision "$precision" --batch "$batch" --json)
echo "unioncam: $ours"
theirs=""
if "$python" -c "import torch, torchvision" 2>/dev/null; then
  tf32=""; [ "$precision" = tf32 ] && tf32="--tf32"
  theirs=$("$python" "$(dirname "$0")/bench_pytorch.py" --device "$device" --gradcam $tf32)
  echo "pytorch:  $theirs"
else
  echo "pytorch:  not installed, no ratio"
fi
"$python" - "$ours" "$theirs" "$build/bench.json" <<'PY'
import json, sys
ours = json.loads(sys.argv[1]); theirs = json.loads(sys.argv[2]) if sys.argv[2] else None
rows = [("forward, batch 1 (ms)", "batch1_ms", "batch1_ms", False),
        (f"forward, batch {ours['batch']} (img/s)", "batch_img_s", "batch32_img_s", True),
        ("forward+backward to target, batch 1 (ms)", "fwd_bwd_ms", "fwd_bwd_ms", False)]
print(f"\n{'what':<42}{'unioncam':>12}{'pytorch':>12}{'speed-up':>10}")
for label, k_ours, k_theirs, higher in rows:
    a = ours.get(k_ours); b = theirs.get(k_theirs) if theirs else None
    ratio = (a / b if higher else b / a) if (a and b) else None
    print(f"{label:<42}{a:>12.2f}{(b if b else float('nan')):>12.2f}" + (f"{ratio:>9.2f}x" if ratio else f"{'-':>10}"))
json.dump({"unioncam": ours, "pytorch": theirs}, open(sys.argv[3], "w"), indent=1)
PY
echo "results written to $build/bench.json"
