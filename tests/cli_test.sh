#!/usr/bin/env bash
# End-to-end checks of the `unioncam` binary: exit codes, messages, JSON shapes.
# Usage: tests/cli_test.sh path/to/unioncam SOURCE_DIR
set -u
bin=$1; src=$2
weights=$src/tests/fixtures/vgg11_64.h5
images=("$src"/tests/fixtures/images/*.png)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
python=/usr/bin/python3
failures=0; count=0

# expect CODE "stderr/stdout must contain" -- command...
expect() {
  local code=$1 needle=$2; shift 3
  count=$((count + 1))
  "$@" >"$tmp/out" 2>"$tmp/err"; local got=$?
  if [ "$got" != "$code" ] || ! grep -qF -- "$needle" "$tmp/out" "$tmp/err"; then
    failures=$((failures + 1))
    echo "FAIL: $* -> exit $got (want $code), output lacks '$needle'"; sed 's/^/  | /' "$tmp/err" | head -5
  fi
}
json_check() {  # json_check FILE PYTHON-EXPR
  count=$((count + 1))
  if ! "$python" -c "import json,sys; d=json.load(open(sys.argv[1])); assert $2, d" "$1" 2>"$tmp/jerr"; then
    failures=$((failures + 1)); echo "FAIL: JSON check '$2'"; head -3 "$tmp/jerr"
  fi
}

expect 2 "usage" -- "$bin"
expect 0 "commands" -- "$bin" --help
expect 2 "unknown command" -- "$bin" frobnicate
expect 0 "usage: unioncam predict" -- "$bin" predict --help
expect 0 "vgg11" -- "$bin" info --weights "$weights"
expect 0 '"arch"' -- "$bin" info --weights "$weights" --json
"$bin" info --weights "$weights" --json >"$tmp/info.json"
json_check "$tmp/info.json" "d['arch']=='vgg11' and d['batchnorm'] is False and d['classes']==len(d['class_names']) and d['input_size']==64 and d['params']>0"
expect 2 "--weights is required" -- "$bin" info
expect 3 "$tmp/missing.h5" -- "$bin" info --weights "$tmp/missing.h5"
echo "not weights" >"$tmp/text.h5"
expect 3 "$tmp/text.h5" -- "$bin" info --weights "$tmp/text.h5"
head -c 3000 "$weights" >"$tmp/truncated.h5"
expect 3 "$tmp/truncated.h5" -- "$bin" info --weights "$tmp/truncated.h5"

expect 2 "unknown option --bogus" -- "$bin" predict --weights "$weights" --bogus "${images[0]}"
expect 2 "no images" -- "$bin" predict --weights "$weights"
expect 2 "fp32 or tf32" -- "$bin" predict --weights "$weights" --precision fp8 "${images[0]}"
expect 2 "--topk" -- "$bin" predict --weights "$weights" --topk 0 "${images[0]}"
expect 2 "multiples of 32" -- "$bin" predict --weights "$weights" --input-size 50 "${images[0]}"
expect 2 "auto, cpu or cuda" -- "$bin" predict --weights "$weights" --device tpu "${images[0]}"
if ! command -v nvidia-smi >/dev/null || ! nvidia-smi -L >/dev/null 2>&1; then
  expect 4 "cuda" -- "$bin" predict --weights "$weights" --device cuda "${images[0]}"
fi
expect 0 "1." -- "$bin" predict --weights "$weights" --device cpu "${images[@]}"
"$bin" predict --weights "$weights" --device cpu --topk 3 --json "${images[@]}" >"$tmp/pred.json"
json_check "$tmp/pred.json" "d['device']=='cpu' and len(d['images'])==${#images[@]} and all(len(i['top'])==3 for i in d['images'])"
json_check "$tmp/pred.json" "all(i['top'][0]['prob']>=i['top'][1]['prob']>=i['top'][2]['prob'] and 0<i['top'][0]['prob']<=1 for i in d['images'])"
# Same image at a larger input size runs (resized), and a bad image is skipped with exit 3.
expect 0 "1." -- "$bin" predict --weights "$weights" --device cpu --input-size 96x128 "${images[0]}"
echo "garbage" >"$tmp/bad.png"
expect 3 "$tmp/bad.png" -- "$bin" predict --weights "$weights" --device cpu "$tmp/bad.png" "${images[0]}"
grep -qF "${images[0]}" "$tmp/out" || { failures=$((failures + 1)); echo "FAIL: good image not processed after a bad one"; }

echo "cli: $((count - failures)) of $count checks passed"
[ "$failures" = 0 ]
