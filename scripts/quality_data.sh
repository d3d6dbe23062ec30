#!/usr/bin/env bash
# The first N images of the demo data set's test split (scripts/make_dataset.py, seed 0) with
# their object masks, in OUT/test/{images,masks}: generated once per N (the split is deterministic).
#   scripts/quality_data.sh OUT N
set -euo pipefail
data=${1:?usage: quality_data.sh OUT N}; n=${2:?usage: quality_data.sh OUT N}
python=${PYTHON:-/usr/bin/python3}
if [ "$(cat "$data/test.count" 2>/dev/null)" != "$n" ]; then
  rm -rf "$data"
  echo "generating $n test images with object masks into $data/test"
  "$python" "$(dirname "$0")/make_dataset.py" --out "$data" --seed 0 --train 0 --val 0 --test "$n"
  echo "$n" >"$data/test.count"
fi
