#!/usr/bin/env bash
# What each way of deploying unioncam costs on disk and at run time, beside Debian's PyTorch with
# pytorch-grad-cam for the same job (the README's Deploy table comes from this).
#   scripts/footprint.sh BUILD STATIC_BUILD        (after make build static package)
set -euo pipefail
build=${1:-build}; static=${2:-build-static}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mib() { awk -v b="$1" 'BEGIN {printf "%.1f MiB", b / 1048576}'; }
# The shared libraries a process maps (not counting the vDSO), and their bytes on disk.
libs_of_binary() { ldd "$1" 2>/dev/null | awk '/=> \// {print $3}' | xargs -r readlink -f | sort -u; }
bytes_of() { xargs -r stat -L -c %s | awk '{s += $1} END {print s + 0}'; }
# A package list's dependency closure (Depends and Pre-Depends), as installed here, in bytes.
closure_bytes() {
  apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "$@" 2>/dev/null | grep -v '^ ' | grep -v '^<' | sort -u |
    { xargs -r dpkg-query -W -f='${db:Status-Status} ${Installed-Size}\n' 2>/dev/null || true; } |
    awk '$1 == "installed" {s += $2} END {print s * 1024}'
}

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
prefix_bytes=$(du -sb "$tmp/prefix" | cut -f1)
libs_of_binary "$tmp/prefix/bin/unioncam" >"$tmp/libs"
grep -E "lib(cudnn|cublas)" "$tmp/libs" >"$tmp/cuda_libs" || true
echo "install prefix:  $(mib "$prefix_bytes") installed (binary $(mib "$(stat -c %s "$tmp/prefix/bin/unioncam")"), library $(mib "$(stat -c %s "$tmp/prefix"/lib*/libunioncam.a)"), demo model 6.6 MiB); at run time $(wc -l <"$tmp/libs") shared libraries, $(mib "$(bytes_of <"$tmp/libs")"), of which cuDNN and cuBLAS $(wc -l <"$tmp/cuda_libs"), $(mib "$(bytes_of <"$tmp/cuda_libs")")"

strip -o "$tmp/unioncam-static" "$static/unioncam"
echo "static binary:   $(mib "$(stat -c %s "$static/unioncam")") ($(mib "$(stat -c %s "$tmp/unioncam-static")") stripped); at run time $(libs_of_binary "$static/unioncam" | wc -l) shared libraries ($(ldd "$static/unioncam" 2>&1 | head -1 | sed 's/^[[:space:]]*//'))"

deb=$(ls "$build"/unioncam_*_amd64.deb | tail -1)
deps=$(dpkg-deb -f "$deb" Depends | sed 's/([^)]*)//g; s/,/ /g')
echo "Debian package:  $(mib "$(stat -c %s "$deb")") .deb, $(mib $(($(dpkg-deb -f "$deb" Installed-Size) * 1024))) installed; Depends: $(echo $deps | wc -w) packages, closure installed here $(mib "$(closure_bytes $deps)")"

# PyTorch: Debian's python3-torch and python3-torchvision with pytorch-grad-cam (a pure-Python
# wheel; its pip dependencies opencv, scikit-learn, matplotlib, ttach and tqdm come on top).
torch_closure=$(closure_bytes python3-torch python3-torchvision)
/usr/bin/python3 - "$tmp" <<'PY' >"$tmp/torch_libs"
import torch, torchvision, sys
model = torchvision.models.vgg16()
with open("/proc/self/maps") as maps:
    libs = sorted({l.split()[-1] for l in maps if ".so" in l.split()[-1]})
print("\n".join(libs))
PY
echo "PyTorch stack:   python3-torch + python3-torchvision closure installed here $(mib "$torch_closure"); at run time (import torch, torchvision; build VGG16) $(wc -l <"$tmp/torch_libs") shared libraries, $(mib "$(bytes_of <"$tmp/torch_libs")")"
