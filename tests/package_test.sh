#!/usr/bin/env bash
# The Debian package (make package): its control fields, its files, and the binary unpacked from
# it running with its own demo model, man page and bash completion.
# Usage: tests/package_test.sh BUILD_DIR SOURCE_DIR
set -u
build=$1; src=$2
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "package: skipped: $tool not installed (dpkg-dev)"; exit 77; }
done
source "$src/tests/cli_lib.sh"
if ! (cd "$build" && cpack -G DEB -B "$tmp/pkg" >"$tmp/cpack.log" 2>&1); then
  cat "$tmp/cpack.log"; echo "package: cpack failed"; exit 1
fi
version=$("$build/unioncam" --version | head -1 | awk '{print $2}')
deb=$tmp/pkg/unioncam_${version}_amd64.deb
[ -f "$deb" ] || { ls "$tmp/pkg"; echo "package: $deb not written"; exit 1; }

field_has() {  # field_has FIELD TEXT
  count=$((count + 1))
  dpkg-deb -f "$deb" "$1" | grep -qF -- "$2" ||
    { failures=$((failures + 1)); echo "FAIL: $1 lacks '$2': $(dpkg-deb -f "$deb" "$1")"; }
}
field_has Package unioncam
field_has Version "$version"
field_has Architecture amd64
# Declared from what the binary links (dpkg-shlibdeps), not by hand.
field_has Depends libhdf5-
field_has Depends libc6
field_has Depends libstdc++6
if "$build/unioncam" --version | grep -q "^cuda: built"; then field_has Depends libcublas-; fi

dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/files"
count=$((count + 1))
grep -qxE "./usr/lib/libunioncam[.](a|so)" "$tmp/files" ||
  { failures=$((failures + 1)); echo "FAIL: no libunioncam in the package"; }
for f in usr/bin/unioncam usr/include/unioncam/unioncam.h \
         usr/lib/cmake/unioncam/unioncamConfig.cmake usr/lib/pkgconfig/unioncam.pc \
         usr/share/man/man1/unioncam.1.gz usr/share/bash-completion/completions/unioncam \
         usr/share/unioncam/fashion_vgg16bn.h5 usr/share/doc/unioncam/README.md; do
  count=$((count + 1))
  grep -qx "./$f" "$tmp/files" || { failures=$((failures + 1)); echo "FAIL: $f not in the package"; }
done

# Unpacked (not installed: the test must not change the machine), the binary finds its model.
dpkg-deb -x "$deb" "$tmp/root"
root=$tmp/root/usr
expect 0 "weights: $root/share/unioncam/fashion_vgg16bn.h5" -- "$root/bin/unioncam" info
expect 0 "unioncam" -- "$root/bin/unioncam" explain --device cpu --quiet --out "$tmp/maps" \
  "$src/tests/fixtures/demo/images/00000_9.png"
count=$((count + 1))
grep -qx "prefix=/usr" "$root/lib/pkgconfig/unioncam.pc" ||
  { failures=$((failures + 1)); echo "FAIL: unioncam.pc's prefix is not /usr"; }

# The packaged library links: the example against the unpacked files, through pkg-config.
# shellcheck disable=SC2046
if c++ -std=c++17 -O2 "$src/examples/embed/embed_explain.cpp" -o "$tmp/embed" \
     $(PKG_CONFIG_PATH=$root/lib/pkgconfig pkg-config --define-variable=prefix="$root" --cflags --libs unioncam) \
     -Wl,-rpath,"$root/lib" \
     >"$tmp/link.log" 2>&1; then
  expect 0 "map selected" -- "$tmp/embed" "$root/share/unioncam/fashion_vgg16bn.h5" \
    "$src/tests/fixtures/demo/images/00000_9.png" "$tmp/map.npy" cpu
else
  count=$((count + 1)); failures=$((failures + 1)); echo "FAIL: the packaged library does not link"; tail -5 "$tmp/link.log"
fi

# The Python module, where this build has one, for Debian's python3.
if ls "$build"/python/unioncam*.so >/dev/null 2>&1; then
  check "import unioncam from the package" '
import sys
sys.path.insert(0, sys.argv[1] + "/lib/python3/dist-packages")
import unioncam
assert unioncam.__file__.startswith(sys.argv[1])
assert unioncam.Model(sys.argv[1] + "/share/unioncam/fashion_vgg16bn.h5", device="cpu").classes == 10
' "$root"
fi

# The man page: one section per command, and groff finds nothing to warn about.
zcat "$root/share/man/man1/unioncam.1.gz" >"$tmp/unioncam.1"
for cmd in info predict explain eval bench; do
  count=$((count + 1))
  grep -qx ".SS $cmd" "$tmp/unioncam.1" || { failures=$((failures + 1)); echo "FAIL: no man section for $cmd"; }
done
if command -v groff >/dev/null; then
  count=$((count + 1))
  warnings=$(groff -man -Tutf8 -ww -z "$tmp/unioncam.1" 2>&1)
  [ -z "$warnings" ] || { failures=$((failures + 1)); echo "FAIL: groff warns: $warnings"; }
fi

# Bash completion: commands, a command's options, and an option's choices.
complete_words() {  # complete_words WORD... -> the completions of the last word
  bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _unioncam "$1"; echo "${COMPREPLY[*]}"' \
    _ "$root/share/bash-completion/completions/unioncam" "$@"
}
check_completion() {  # check_completion EXPECTED WORD...
  local want=$1; shift
  count=$((count + 1))
  local got; got=$(complete_words "$@")
  [[ " $got " == *" $want "* ]] || { failures=$((failures + 1)); echo "FAIL: completing '$*' gave '$got', not '$want'"; }
}
check_completion explain "$root/bin/unioncam" ex
check_completion --save-map "$root/bin/unioncam" explain --sa
check_completion groupcam "$root/bin/unioncam" explain --method gro
check_completion --methods "$root/bin/unioncam" eval --meth
finish package
