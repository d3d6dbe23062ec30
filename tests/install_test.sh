#!/usr/bin/env bash
# The installed package, as a user meets it: `cmake --install` into a temporary prefix; the files
# it must hold; the installed binary finding its installed demo model; examples/embed built out of
# tree against the prefix (CMake package) and again with pkg-config alone, each writing the same
# UnionCAM map as the CLI (bit-identical on the CPU); and the API's errors: the CLI's kinds
# (exit codes) and messages, and no partial output.
# Usage: tests/install_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$1; src=$2
source "$src/tests/cli_lib.sh"
prefix=$tmp/prefix
image=$src/tests/fixtures/demo/images/00000_9.png

if ! cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log"; echo "install: cmake --install failed"; exit 1
fi
lib=$(ls "$prefix"/lib*/libunioncam.a "$prefix"/lib*/libunioncam.so 2>/dev/null | head -1)
for f in bin/unioncam include/unioncam/unioncam.h lib/cmake/unioncam/unioncamConfig.cmake \
         lib/cmake/unioncam/unioncamConfigVersion.cmake lib/cmake/unioncam/unioncamTargets.cmake \
         lib/pkgconfig/unioncam.pc share/unioncam/fashion_vgg16bn.h5; do
  count=$((count + 1))
  [ -f "$prefix/$f" ] || { failures=$((failures + 1)); echo "FAIL: $prefix/$f not installed"; }
done
count=$((count + 1))
[ -n "$lib" ] || { failures=$((failures + 1)); echo "FAIL: no libunioncam in $prefix/lib"; }
count=$((count + 1))
grep -q "^prefix=$prefix\$" "$prefix/lib/pkgconfig/unioncam.pc" ||
  { failures=$((failures + 1)); echo "FAIL: unioncam.pc does not name the prefix $prefix"; }

# The installed binary's default model is the installed one, not the source tree's.
expect 0 "weights: $prefix/share/unioncam/fashion_vgg16bn.h5" -- "$prefix/bin/unioncam" info
"$prefix/bin/unioncam" explain --device cpu --quiet --method unioncam --save-map \
  --out "$tmp/cli" "$image" >/dev/null || { echo "FAIL: the installed binary's explain"; failures=$((failures + 1)); }
cli_map=$tmp/cli/00000_9_unioncam.npy

# example_writes_the_clis_map WHAT BUILT LOG EXE: the example built (BUILT = 0) and its map equal to
# the CLI's, byte for byte.
example_writes_the_clis_map() {
  local what=$1 built=$2 log=$3 exe=$4
  count=$((count + 1))
  if [ "$built" != 0 ]; then
    failures=$((failures + 1)); echo "FAIL: the example does not build $what"; tail -20 "$log"; return
  fi
  expect 0 "map selected" -- "$exe" "$prefix/share/unioncam/fashion_vgg16bn.h5" "$image" "$exe.npy" cpu
  cmp -s "$exe.npy" "$cli_map" || { failures=$((failures + 1)); echo "FAIL: $what: the map differs from the CLI's"; }
}

# The example, out of tree, with the CMake package.
cmake -S "$src/examples/embed" -B "$tmp/embed" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/embed.log" 2>&1 && cmake --build "$tmp/embed" >>"$tmp/embed.log" 2>&1
example_writes_the_clis_map "with the CMake package" $? "$tmp/embed.log" "$tmp/embed/embed_explain"

# The same source with pkg-config alone (no CMake); a shared libunioncam outside the loader's
# folders is found through the rpath, as a user would link it. (make deps installs pkgconf.)
if command -v pkg-config >/dev/null; then
  export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
  # shellcheck disable=SC2046
  c++ -std=c++17 -O2 "$src/examples/embed/embed_explain.cpp" -o "$tmp/embed_pc" \
    $(pkg-config --cflags --libs unioncam) -Wl,-rpath,"$(pkg-config --variable=libdir unioncam)" >"$tmp/pc.log" 2>&1
  example_writes_the_clis_map "with pkg-config" $? "$tmp/pc.log" "$tmp/embed_pc"
else
  echo "install: pkg-config not installed: the pkg-config build is not tried"
fi

# The Python module, where this build has one: installed for the prefix's python3.
if ls "$build"/python/unioncam*.so >/dev/null 2>&1; then
  check "import unioncam from the prefix" '
import sys, glob
sys.path.insert(0, glob.glob(sys.argv[1] + "/lib/python3*/dist-packages")[0])
import unioncam
assert unioncam.__file__.startswith(sys.argv[1]), unioncam.__file__
m = unioncam.Model(sys.argv[2], device="cpu")
assert m.predict(sys.argv[3], topk=1)[0]["name"] == "Ankle boot"
' "$prefix" "$prefix/share/unioncam/fashion_vgg16bn.h5" "$image"
fi

# Errors through the API: the CLI's exit code and message, no partial file.
if [ -x "$tmp/embed/embed_explain" ]; then
  embed=$tmp/embed/embed_explain
  model=$prefix/share/unioncam/fashion_vgg16bn.h5
  same_error() {  # same_error CODE -- ARGS (for both: WEIGHTS IMAGE OUT; the CLI gets them as options)
    local code=$1; shift 2
    count=$((count + 1))
    "$embed" "$1" "$2" "$3" cpu >/dev/null 2>"$tmp/api.err"; local api=$?
    "$prefix/bin/unioncam" explain --device cpu --quiet --weights "$1" --save-map --out "$(dirname "$3")" --force "$2" \
      >/dev/null 2>"$tmp/cli.err"; local cli=$?
    local api_msg cli_msg
    api_msg=$(sed 's/^embed_explain: //' "$tmp/api.err"); cli_msg=$(sed -e 's/^unioncam: error: //' -e 's/ (skipped)$//' "$tmp/cli.err")
    if [ "$api" != "$code" ] || [ "$cli" != "$code" ] || [ "$api_msg" != "$cli_msg" ]; then
      failures=$((failures + 1))
      echo "FAIL: $* -> API exit $api '$api_msg', CLI exit $cli '$cli_msg' (want $code, the same message)"
    fi
  }
  same_error 3 -- "$tmp/missing.h5" "$image" "$tmp/e1/x.npy"
  echo "not an image" >"$tmp/bad.png"
  same_error 3 -- "$model" "$tmp/bad.png" "$tmp/e2/x.npy"
  echo "not weights" >"$tmp/bad.h5"
  same_error 3 -- "$tmp/bad.h5" "$image" "$tmp/e3/x.npy"
  # An output folder that does not exist (the CLI would make it; the API does not): exit 4.
  expect 4 "$tmp/nowhere/x.npy" -- "$embed" "$model" "$image" "$tmp/nowhere/x.npy" cpu
  count=$((count + 1))
  [ ! -e "$tmp/nowhere" ] || { failures=$((failures + 1)); echo "FAIL: a failed write left $tmp/nowhere"; }
  expect 2 "usage: embed_explain" -- "$embed" "$model"
fi
finish install
