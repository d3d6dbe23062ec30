#!/usr/bin/env bash
# The self-contained binary (make static): nothing but the kernel needed at run time, no curl or
# OpenSSL inside, and the same predictions and maps as the normal build.
# Usage: tests/static_test.sh STATIC_BUILD_DIR path/to/unioncam SOURCE_DIR
# Exit 77 (skipped) when the binary was not built: a static library it needs is missing (as make
# static said), or ctest runs without make test (make test builds it first).
set -u
static_build=$1; bin=$2; src=$3
static=$static_build/unioncam
if [ ! -x "$static" ]; then
  if [ -s "$static_build/static-missing.txt" ]; then
    echo "static: skipped: static libraries missing: $(cat "$static_build/static-missing.txt")"
    exit 77
  fi
  # make test builds it first and fails when that fails for any reason but a missing library.
  echo "static: skipped: $static not built (make static; make test builds it)"; exit 77
fi
source "$src/tests/cli_lib.sh"
images=("$src"/tests/fixtures/demo/images/0000[0-2]_*.png)

# ldd: "not a dynamic executable", or nothing beyond glibc's own libraries.
count=$((count + 1))
deps=$(ldd "$static" 2>&1 | grep -vE "not a dynamic executable|linux-vdso|ld-linux|lib(c|m|pthread|dl|rt)\.so")
[ -z "$deps" ] || { failures=$((failures + 1)); echo "FAIL: $static needs: $deps"; }
count=$((count + 1))
if nm "$static" 2>/dev/null | grep -qiE " (curl_|SSL_|EVP_|HMAC)"; then
  failures=$((failures + 1)); echo "FAIL: $static carries curl or OpenSSL code"
fi
# It runs with an empty environment: no library path, no HOME.
expect 0 "unioncam" -- env -i "$static" --version

# The same predictions as the normal build (CPU): classes in the same order; probabilities within
# 1e-5 (the static build convolves with im2col + OpenBLAS, the normal one with oneDNN when it has
# it: the same sums in another order).
"$static" predict --device cpu --quiet --json --topk 5 "${images[@]}" >"$tmp/static.json"
"$bin" predict --device cpu --quiet --json --topk 5 "${images[@]}" >"$tmp/normal.json"
check "static predictions = normal predictions" '
import json, sys
a, b = (json.load(open(p))["images"] for p in sys.argv[1:3])
assert len(a) == len(b) == 3
for x, y in zip(a, b):
    assert [t["class"] for t in x["top"]] == [t["class"] for t in y["top"]], (x, y)
    for s, t in zip(x["top"], y["top"]):
        assert abs(s["prob"] - t["prob"]) < 1e-5, (s, t)
' "$tmp/static.json" "$tmp/normal.json"

# The same maps, every method: the explained class, UnionCAM's choice, and values within 1e-5
# (measured: 7e-7).
for b in static normal; do
  exe=$bin; [ $b = static ] && exe=$static
  "$exe" explain --device cpu --quiet --json --method all --save-map --out "$tmp/$b" "${images[@]}" >"$tmp/$b-explain.json"
done
check "static maps = normal maps" '
import json, sys, numpy as np, os
a, b = (json.load(open(p))["images"] for p in sys.argv[1:3])
for x, y in zip(a, b):
    assert x["class"] == y["class"], (x["class"], y["class"])
    assert x["methods"]["unioncam"]["selected"] == y["methods"]["unioncam"]["selected"]
    for m in x["methods"]:
        p, q = np.load(x["methods"][m]["map"]), np.load(y["methods"][m]["map"])
        assert np.abs(p - q).max() < 1e-5, (m, x["path"], float(np.abs(p - q).max()))
' "$tmp/static-explain.json" "$tmp/normal-explain.json"
finish static
