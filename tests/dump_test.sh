#!/usr/bin/env bash
# explain --dump: the file's names, shapes and attributes, every map recomputed from the dump's
# own intermediates with numpy (tests/dump_check.py, the formulas of METHODS.md), maps unchanged
# by dumping (bit for bit), only the methods run dumped, and the file's errors: an existing dump
# refused without --force, --dump-masks alone a usage error, an unwritable one exit 4 and no file.
# Usage: tests/dump_test.sh path/to/unioncam SOURCE_DIR
set -u
bin=$1; src=$2
source "$src/tests/cli_lib.sh"
images=("$src"/tests/fixtures/demo/images/0000[0-1]_*.png)
if ! "$python" -c "import h5py, numpy" 2>/dev/null; then echo "dump: h5py or numpy missing: skipped"; exit 77; fi

"$bin" explain --device cpu --quiet --method all --save-map --out "$tmp/plain" "${images[@]}" >/dev/null
expect 0 "" -- "$bin" explain --device cpu --quiet --method all --save-map --dump "$tmp/all.h5" \
  --dump-masks --out "$tmp/dumped" "${images[@]}"
for f in "$tmp"/plain/*.npy; do
  count=$((count + 1))
  cmp -s "$f" "$tmp/dumped/$(basename "$f")" ||
    { failures=$((failures + 1)); echo "FAIL: dumping changed $(basename "$f")"; }
done
check "every map recomputed from its dump (all methods, masks)" '
import subprocess, sys
r = subprocess.run([sys.executable, sys.argv[1], sys.argv[2], "--masks"], capture_output=True, text=True)
assert r.returncode == 0, r.stdout + r.stderr
assert r.stdout.count("gradcam, gradcampp, scorecam, groupcam, unioncam") == 2, r.stdout
' "$src/tests/dump_check.py" "$tmp/all.h5"

# Other settings; only the methods run (and UnionCAM's region method) are in the file.
"$bin" explain --device cpu --quiet --method gradcam,unioncam --region groupcam --groups 5 \
  --theta 35 --score logit --mask-space pixel --dump "$tmp/some.h5" --out "$tmp/some" "${images[0]}" >/dev/null
check "a dump holds what the chosen methods computed, recomputed" '
import h5py, subprocess, sys
r = subprocess.run([sys.executable, sys.argv[1], sys.argv[2]], capture_output=True, text=True)
assert r.returncode == 0, r.stdout + r.stderr
f = h5py.File(sys.argv[2])
g = f[list(f)[0]]
assert sorted(k for k in g if isinstance(g[k], h5py.Group)) == ["gradcam", "groupcam", "unioncam"], list(g)
assert "map" not in g["groupcam"] and "masks" not in g["groupcam"] and "gradcampp" not in g
assert f.attrs["region"] == "groupcam" and f.attrs["groups"] == 5 and f.attrs["theta"] == 35
assert f.attrs["score"] == "logit" and f.attrs["mask_space"] == "pixel"
' "$src/tests/dump_check.py" "$tmp/some.h5"

cp "$tmp/some.h5" "$tmp/before.h5"
expect 2 "already exists" -- "$bin" explain --device cpu --quiet --method gradcam --dump "$tmp/some.h5" --out "$tmp/x" "${images[0]}"
count=$((count + 1))
cmp -s "$tmp/some.h5" "$tmp/before.h5" || { failures=$((failures + 1)); echo "FAIL: a refused run touched the dump"; }
expect 0 "" -- "$bin" explain --device cpu --quiet --method gradcam --force --dump "$tmp/some.h5" --out "$tmp/x" "${images[0]}"
expect 2 "--dump-masks needs --dump" -- "$bin" explain --device cpu --quiet --dump-masks --out "$tmp/y" "${images[0]}"
touch "$tmp/file"
expect 4 "$tmp/file/sub" -- "$bin" explain --device cpu --quiet --method gradcam --dump "$tmp/file/sub/d.h5" --out "$tmp/z" "${images[0]}"
count=$((count + 1))
leftovers=$(find "$tmp" -name "*.tmp.*" | head -3)
[ -z "$leftovers" ] || { failures=$((failures + 1)); echo "FAIL: temporaries left: $leftovers"; }
finish dump
