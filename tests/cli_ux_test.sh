#!/usr/bin/env bash
# End-to-end checks of how `unioncam` takes inputs and writes outputs: files, folders and
# standard input, every image kind, bad files, existing outputs and --force, progress and
# --quiet, interrupts, and the pictures and reports (--grid, --format, --curves, --table).
# Usage: tests/cli_ux_test.sh path/to/unioncam SOURCE_DIR
set -u
bin=$1; src=$2
weights=$src/tests/fixtures/vgg11_64.h5
fixtures=$src/tests/fixtures/images
source "$src/tests/cli_lib.sh"

run() { "$bin" "$1" --weights "$weights" --device cpu "${@:2}"; }

# --- help: the program and every subcommand, with examples and every option -----------------
expect 0 "explain" -- "$bin" --help
for c in info predict explain eval bench; do grep -qF "  $c " "$tmp/out" || { failures=$((failures + 1)); echo "FAIL: --help lacks $c"; }; done
cam_opts="class layer theta groups region score mask-space batch device precision"
declare -A opts=(
  [info]="weights json"
  [predict]="weights topk device precision input-size batch max-pixels json quiet"
  [explain]="weights method out format grid save-map alpha force max-pixels json quiet $cam_opts"
  [eval]="weights images masks limit methods curves table force max-pixels json quiet $cam_opts"
  [bench]="weights depth batchnorm device precision batch runs methods warmup json quiet")
for c in "${!opts[@]}"; do
  expect 0 "example" -- "$bin" "$c" --help
  for o in ${opts[$c]}; do
    grep -qF -- "--$o" "$tmp/out" || { failures=$((failures + 1)); echo "FAIL: $c --help lacks --$o"; }
  done
done

# --- inputs of every kind, made with PIL --------------------------------------------------
mkdir -p "$tmp/in/sub/deeper" "$tmp/in/a" "$tmp/empty"
"$python" - "$tmp/in" <<'PY'
import sys, numpy as np
from PIL import Image
d = sys.argv[1]
rng = np.random.default_rng(0)
rgb = (rng.random((48, 40, 3)) * 255).astype(np.uint8)
Image.fromarray(rgb).convert("L").save(f"{d}/gray.png")
Image.fromarray(np.dstack([rgb, np.full((48, 40), 128, np.uint8)]), "RGBA").save(f"{d}/rgba.png")
Image.fromarray((rng.random((30, 50)) * 65535).astype(np.uint16)).save(f"{d}/gray16.png")
Image.fromarray(rgb).save(f"{d}/photo.jpg", quality=90)  # PIL writes no EXIF block
Image.fromarray(rgb).save(f"{d}/UPPER.PNG")
Image.fromarray(rgb).save(f"{d}/sub/deeper/b.bmp")
Image.fromarray(rgb).save(f"{d}/a-b.png")
Image.fromarray(rgb).save(f"{d}/a/x.jpeg")
open(f"{d}/notes.txt", "w").write("not an image, and not listed from a folder\n")
PY
check "16-bit input really is 16-bit" "from PIL import Image; import sys; assert Image.open(sys.argv[1]).mode.startswith('I'), Image.open(sys.argv[1]).mode" "$tmp/in/gray16.png"
for f in gray.png rgba.png gray16.png photo.jpg UPPER.PNG sub/deeper/b.bmp; do
  expect 0 "1." -- run predict "$tmp/in/$f"
done

# Folders: recursive, image extensions in any case, bytewise sorted paths.
run predict --json --quiet "$tmp/in" >"$tmp/dir.json"
check "folder listing: recursive, image files only, sorted" '
import json, os, sys
d = json.load(open(sys.argv[1])); root = sys.argv[2]
want = sorted(os.path.join(p, f) for p, _, fs in os.walk(root) for f in fs
              if f.lower().endswith((".png", ".jpg", ".jpeg", ".bmp")))
got = [i["path"] for i in d["images"]]
assert got == want and len(got) == 8, (got, want)' "$tmp/dir.json" "$tmp/in"
expect 3 "holds no image files" -- run predict "$tmp/empty" "$tmp/in/gray.png"

# Standard input: "-" is one image, named "-" in results and "stdin" in output files.
run predict --json --quiet - <"$tmp/in/photo.jpg" >"$tmp/stdin.json"
run predict --json --quiet "$tmp/in/photo.jpg" >"$tmp/file.json"
check "predict - reads standard input" '
import json, sys
a = json.load(open(sys.argv[1]))["images"]; b = json.load(open(sys.argv[2]))["images"]
assert a[0]["path"] == "-" and a[0]["top"] == b[0]["top"], (a, b)' "$tmp/stdin.json" "$tmp/file.json"
expect 0 "stdin_gradcam.png" -- run explain --method gradcam --out "$tmp/stdin_out" - <"$tmp/in/gray.png"
[ -f "$tmp/stdin_out/stdin_gradcam.png" ] || { failures=$((failures + 1)); echo "FAIL: no stdin_gradcam.png"; }
expect 2 "only once" -- run predict - - </dev/null
expect 3 "standard input" -- run predict - </dev/null

# --- bad files: reported with the path, skipped, exit 3, the good ones still processed ---------
head -c 300 /dev/urandom >"$tmp/corrupt.png"
head -c 500 "$fixtures/shapes_100x80.png" >"$tmp/truncated.png"
: >"$tmp/empty.png"
echo "hello" >"$tmp/notes.txt"
for bad in corrupt.png truncated.png empty.png notes.txt missing.png; do
  expect 3 "$tmp/$bad" -- run predict "$tmp/$bad"
done
expect 3 "the limit is 100" -- run predict --max-pixels 100 "$fixtures/shapes_64.png"
expect 2 "--max-pixels" -- run predict --max-pixels 0 "$fixtures/shapes_64.png"
expect 3 "$tmp/corrupt.png" -- run predict --json "$tmp/corrupt.png" "$fixtures/shapes_64.png" "$tmp/empty.png"
check "predict: the good image after bad ones" 'import json, sys; d = json.load(open(sys.argv[1])); assert [i["path"] for i in d["images"]] == [sys.argv[2]], d' "$tmp/out" "$fixtures/shapes_64.png"
expect 3 "$tmp/truncated.png" -- run explain --method gradcam --out "$tmp/mixed" "$tmp/truncated.png" "$fixtures/shapes_64.png"
[ -f "$tmp/mixed/shapes_64_gradcam.png" ] || { failures=$((failures + 1)); echo "FAIL: explain skipped the good image"; }
expect 3 "$tmp/empty.png" -- run eval --methods gradcam --json --images "$tmp/empty.png" "$fixtures/shapes_64.png"
check "eval: the good image after a bad one" 'import json, sys; assert json.load(open(sys.argv[1]))["n_images"] == 1' "$tmp/out"
expect 3 "could be read" -- run eval --methods gradcam --images "$tmp/corrupt.png"
expect 2 "would write the same output" -- run explain --method gradcam --out "$tmp/dup" "$tmp/in/gray.png" "$tmp/in/sub/../gray.png"

# --- outputs: nested folders, existing files need --force (checked before any work) ----------
out=$tmp/deep/er/out
expect 0 "gradcam" -- run explain --method gradcam --save-map --out "$out" "$fixtures/shapes_64.png" "$fixtures/shapes_64b.png"
stamp() { "$python" -c 'import os, sys; print(" ".join(str(os.stat(f).st_mtime_ns) for f in sorted(sys.argv[1:])))' "$out"/*; }
before=$(stamp)
sleep 0.05
expect 2 "$out/shapes_64_gradcam.png' already exists; pass --force" -- run explain --method gradcam --save-map --out "$out" "$fixtures/shapes_64.png" "$fixtures/shapes_64b.png"
[ ! -s "$tmp/out" ] || { failures=$((failures + 1)); echo "FAIL: explain did work before refusing to overwrite"; }
# A new image beside an existing one: refused too, and nothing written for either.
expect 2 "--force" -- run explain --method gradcam --save-map --out "$out" "$fixtures/shapes_100x80.png" "$fixtures/shapes_64b.png"
[ ! -e "$out/shapes_100x80_gradcam.png" ] && [ "$(stamp)" = "$before" ] || { failures=$((failures + 1)); echo "FAIL: files changed without --force"; }
expect 0 "gradcam" -- run explain --method gradcam --save-map --force --out "$out" "$fixtures/shapes_64.png" "$fixtures/shapes_64b.png"
[ "$(stamp)" != "$before" ] || { failures=$((failures + 1)); echo "FAIL: --force did not replace the outputs"; }

# --- --quiet, and no progress bar when standard error is not a terminal -----------------------
expect 0 "gradcam" -- run explain --method gradcam --quiet --force --out "$tmp/q" "$fixtures/shapes_64.png"
[ ! -s "$tmp/err" ] || { failures=$((failures + 1)); echo "FAIL: --quiet printed on standard error"; cat "$tmp/err"; }
run explain --method gradcam --force --out "$tmp/q" "$fixtures/shapes_64.png" >/dev/null 2>"$tmp/err"
grep -q "device" "$tmp/err" && ! grep -q $'\r' "$tmp/err" || { failures=$((failures + 1)); echo "FAIL: device note / no bar off a terminal"; }
# On a terminal the bar appears once the run has taken a second (UNIONCAM_PROGRESS_AFTER=0:
# at once, whatever the machine's speed); --quiet suppresses it.
mkdir -p "$tmp/many"; for i in 1 2 3 4 5 6; do cp "$fixtures/shapes_64.png" "$tmp/many/s$i.png"; done
cat >"$tmp/pty.py" <<'PY'
import os, pty, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
seen = b""
while True:
    try:
        chunk = os.read(master, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
assert p.wait() == 0
bar = b"images/s" in seen and b"ETA" in seen
assert bar == (sys.argv[1] == "bar"), seen
PY
UNIONCAM_PROGRESS_AFTER=0 check "progress bar on a terminal" "$(cat "$tmp/pty.py")" bar "$bin" explain --weights "$weights" --device cpu --method scorecam --out "$tmp/bar1" "$tmp/many"
UNIONCAM_PROGRESS_AFTER=0 check "--quiet: no bar on a terminal" "$(cat "$tmp/pty.py")" none "$bin" explain --weights "$weights" --device cpu --method scorecam --quiet --out "$tmp/bar2" "$tmp/many"

# --- SIGINT (Ctrl-C) and SIGTERM (a scheduler's preemption): 128 + signal, no partial files -----
for i in $(seq 1 20); do cp "$fixtures/shapes_64.png" "$tmp/many/t$i.png"; done
for sig in INT TERM; do
  want=$([ $sig = INT ] && echo 130 || echo 143)
  # Started directly (not through run): $! must be unioncam itself, not a subshell.
  "$bin" explain --weights "$weights" --device cpu --method all --save-map --out "$tmp/sig$sig" "$tmp/many" >/dev/null 2>"$tmp/sig.err" &
  pid=$!
  sleep 1.5
  kill -$sig "$pid"; wait "$pid"; code=$?
  count=$((count + 1))
  if [ "$code" != "$want" ] || ! grep -q "interrupted" "$tmp/sig.err" || [ -n "$(find "$tmp/sig$sig" -name '*.tmp.*')" ]; then
    failures=$((failures + 1)); echo "FAIL: SIG$sig -> exit $code (want $want), temporaries: $(find "$tmp/sig$sig" -name '*.tmp.*' | head -3)"
  fi
done

# --- two runs writing the same files at once: every file whole, from one run or the other -------
"$bin" explain --weights "$weights" --device cpu --method gradcam --save-map --force --out "$tmp/both" "$tmp/many" >/dev/null 2>"$tmp/both1.err" &
pid1=$!
"$bin" explain --weights "$weights" --device cpu --method gradcam --save-map --force --out "$tmp/both" "$tmp/many" >/dev/null 2>"$tmp/both2.err" &
pid2=$!
wait "$pid1"; code1=$?; wait "$pid2"; code2=$?
count=$((count + 1))
[ "$code1" = 0 ] && [ "$code2" = 0 ] || { failures=$((failures + 1)); echo "FAIL: concurrent runs -> exit $code1 and $code2"; cat "$tmp/both1.err" "$tmp/both2.err" | head -4; }
check "concurrent runs leave whole files and no temporaries" '
import os, sys, numpy as np
from PIL import Image
d = sys.argv[1]
names = sorted(os.listdir(d))
assert not [n for n in names if ".tmp." in n], names
images = len(os.listdir(sys.argv[2]))
assert len([n for n in names if n.endswith(".npy")]) == images == len([n for n in names if n.endswith(".png")]), names
for n in names:
    p = os.path.join(d, n)
    if n.endswith(".npy"):
        m = np.load(p)
        assert m.shape == (64, 64) and m.dtype == np.float32 and 0 <= m.min() and m.max() <= 1, n
    else:
        Image.open(p).load()
' "$tmp/both" "$tmp/many"

# --- a file name that is not UTF-8 is escaped in the error, never printed raw -------------------
mkdir -p "$tmp/names" && echo "not an image" > "$tmp/names/"$'bad\xffname.png'
expect 3 'bad\xffname.png' -- run predict "$tmp/names"
count=$((count + 1))
if LC_ALL=C grep -q $'\xff' "$tmp/err"; then failures=$((failures + 1)); echo "FAIL: a raw 0xff byte in the error"; fi

# --- outputs that cannot be written: exit 4 naming the path, no partial file ---------------------
echo "a file, not a folder" > "$tmp/notdir"
expect 4 "cannot create the output folder '$tmp/notdir/sub'" -- run explain --method gradcam --out "$tmp/notdir/sub" "$fixtures/shapes_64.png"
expect 4 "cannot create the folder '$tmp/notdir'" -- run eval --methods gradcam --table "$tmp/notdir/t.md" "$fixtures/shapes_64.png"
# A full disk: a 64 KiB tmpfs where mounting is allowed (CI runs as root), the maps of 20 images
# (16 KiB each at 64x64) overflow it.
mkdir -p "$tmp/full"
if mount -t tmpfs -o size=64k tmpfs "$tmp/full" 2>/dev/null; then
  expect 4 "cannot write '$tmp/full/" -- run explain --method gradcam --save-map --out "$tmp/full" "$tmp/many"
  grep -q "No space left on device" "$tmp/err" || { failures=$((failures + 1)); echo "FAIL: full disk: no ENOSPC in the message"; }
  count=$((count + 1))
  if [ -n "$(find "$tmp/full" -name '*.tmp.*')" ]; then failures=$((failures + 1)); echo "FAIL: full disk left a temporary"; fi
  umount "$tmp/full"
else
  echo "note: cannot mount a tmpfs here; the full-disk check did not run"
fi

# A readable image with such a name: --json stays valid UTF-8 JSON, the byte written as \xff text.
cp "$fixtures/shapes_64.png" "$tmp/names/"$'ok\xffname.png'
run predict --json "$tmp/names/"$'ok\xffname.png' > "$tmp/names.json" 2>/dev/null
json_check "$tmp/names.json" 'd["images"][0]["path"].endswith("ok\\xffname.png")'

# --- standard output that cannot be written is an error (exit 4), not success ----------------
expect 4 "cannot write to standard output" -- sh -c '"$0" predict --weights "$1" --device cpu --json "$2" > /dev/full' "$bin" "$weights" "$fixtures/shapes_64.png"
expect 4 "cannot write to standard output" -- sh -c '"$0" info --weights "$1" > /dev/full' "$bin" "$weights"
# A reader that has gone (head -c 0 exits at once): EPIPE, not death by SIGPIPE and not exit 0.
count=$((count + 1))
{ "$bin" predict --weights "$weights" --device cpu --json "$fixtures/shapes_64.png" 2>"$tmp/pipe.err"; echo $? > "$tmp/pipe.code"; } | head -c 0
if [ "$(cat "$tmp/pipe.code")" != 4 ] || ! grep -q "standard output" "$tmp/pipe.err"; then
  failures=$((failures + 1)); echo "FAIL: a closed pipe -> exit $(cat "$tmp/pipe.code") (want 4)"; head -3 "$tmp/pipe.err"
fi

# --- pictures: --format jpg, the overlay marks the map's peak, --grid --------------------------
expect 2 "png or jpg" -- run explain --format gif "$fixtures/shapes_64.png"
expect 0 "shapes_100x80_gradcam.jpg" -- run explain --method gradcam --format jpg --save-map --out "$tmp/jpg" "$fixtures/shapes_100x80.png"
check "--format jpg writes JPEG" 'import sys; assert open(sys.argv[1], "rb").read(3) == b"\xff\xd8\xff"' "$tmp/jpg/shapes_100x80_gradcam.jpg"
run explain --method gradcam --save-map --out "$tmp/peak" "$fixtures/shapes_100x80.png" >/dev/null 2>&1
check "overlay differs from the original at the map's peak" '
import sys, numpy as np
from PIL import Image
m = np.load(sys.argv[1]); orig = Image.open(sys.argv[2]).convert("RGB"); over = Image.open(sys.argv[3]).convert("RGB")
assert over.size == orig.size
big = np.asarray(Image.fromarray(m, "F").resize(orig.size, Image.BILINEAR))
y, x = np.unravel_index(np.argmax(big), big.shape)
a = np.asarray(orig, float)[y, x]; b = np.asarray(over, float)[y, x]
assert np.abs(a - b).sum() > 30, (y, x, a, b)' "$tmp/peak/shapes_100x80_gradcam.npy" "$fixtures/shapes_100x80.png" "$tmp/peak/shapes_100x80_gradcam.png"

expect 2 "must end in .png, .jpg or .jpeg" -- run explain --grid "$tmp/grid.gif" "$fixtures/shapes_64.png"
run explain --method gradcam,unioncam --json --grid "$tmp/g/h/grid.png" --out "$tmp/gridout" \
  "$fixtures/shapes_64.png" "$fixtures/shapes_64b.png" "$fixtures/shapes_100x80.png" >"$tmp/grid.json" 2>"$tmp/err"
check "--grid: a row per image, original + each method" '
import json, sys
from PIL import Image
d = json.load(open(sys.argv[1])); g = Image.open(sys.argv[2])
rows, cols, cell, pad = 3, 3, 224, 6
assert d["grid"] == sys.argv[2]
assert g.size[0] == cols * (cell + pad) + pad, g.size
assert (g.size[1] - pad) % rows == 0 and (g.size[1] - pad) // rows > cell + pad, g.size' "$tmp/grid.json" "$tmp/g/h/grid.png"

# --- reports: --curves and --table ---------------------------------------------------------
expect 2 ".md (Markdown) or .csv" -- run eval --images "$fixtures" --table "$tmp/t.txt"
run eval --images "$fixtures" --limit 2 --methods gradcam,gradcampp --json --curves "$tmp/c/d" \
  --table "$tmp/t/table.md" >"$tmp/eval.json" 2>"$tmp/err"
run eval --images "$fixtures" --limit 2 --methods gradcam,gradcampp --table "$tmp/t/table.csv" >/dev/null 2>&1
check "--curves and --table files" '
import csv, json, sys, xml.etree.ElementTree as ET
d = json.load(open(sys.argv[1])); c = sys.argv[2]
for kind in ("insertion", "deletion"):
    root = ET.parse(f"{c}/{kind}.svg").getroot()
    assert root.tag.endswith("svg"), root.tag
    text = " ".join(t for t in root.itertext())
    for name, m in d["methods"].items():
        assert name in text and f"{m[kind]:.2f}" in text, (kind, name, text)
for path in (f"{c}/table.csv", sys.argv[4]):
    rows = list(csv.reader(open(path)))
    assert rows[0][:4] == ["Method", "Avg Drop", "Avg Increase", "Insertion"], rows[0]
    assert {r[0]: r[3] for r in rows[1:]} == {n: format(m["insertion"], ".2f") for n, m in d["methods"].items()}, rows
    ci = rows[0].index("Insertion ±95%")
    assert {r[0]: r[ci] for r in rows[1:]} == {n: format(m["ci95"]["insertion"], ".2f") for n, m in d["methods"].items()}, rows
for path in (f"{c}/table.md", sys.argv[3]):
    lines = open(path).read().splitlines()
    assert lines[0].startswith("|") and "Method" in lines[0] and "Deletion" in lines[0] and set(lines[1]) <= set("|-: "), lines
    assert len(lines) == 2 + len(d["methods"]), lines
    for line in lines[2:]:
        name = line.split("|")[1].strip()
        m = d["methods"][name]
        assert format(m["deletion"], ".2f") + " ± " + format(m["ci95"]["deletion"], ".2f") in line, line' "$tmp/eval.json" "$tmp/c/d" "$tmp/t/table.md" "$tmp/t/table.csv"
expect 2 "already exists" -- run eval --images "$fixtures" --methods gradcam --curves "$tmp/c/d"
expect 0 "Insertion" -- run eval --images "$fixtures" --limit 1 --methods gradcam --curves "$tmp/c/d" --force --table "$tmp/t/UP.CSV"
[ -s "$tmp/t/UP.CSV" ] || { failures=$((failures + 1)); echo "FAIL: --table with an upper-case extension"; }

finish cli_ux
