#!/usr/bin/env bash
# The GPU check (GPU.md): CUDA build for sm_90, every test including CUDA-against-CPU, and the
# benchmark beside PyTorch, forward and every CAM method. Logs and JSON go to OUT. No network
# access is needed.
# stb headers: /usr/include/stb, else a copy carried in .stb/ (the reference GPU machine has none).
set -uo pipefail
out=${1:-gpu-check-out}
mkdir -p "$out"
build=build-gpu
stb=/usr/include/stb
[ -f $stb/stb_image.h ] || stb=$PWD/.stb
status=0
# The Python with PyTorch for the reference tests and the benchmark's PyTorch side.
if [ -z "${PYTHON:-}" ]; then
  for py in /usr/bin/python3 "$(command -v python3)"; do
    if "$py" -c "import torch" 2>/dev/null; then export PYTHON=$py; break; fi
  done
fi
# Device time is scarce: every phase is bounded, so a hang cannot use it all up.
{
  echo "== nvidia-smi"; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  echo "== configure + build"
  cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release -DUNIONCAM_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
        -DSTB_INCLUDE_DIR=$stb >/dev/null && cmake --build $build -j "$(nproc)" 2>&1 | grep -E "error|warning" || true
} 2>&1 | tee "$out/build.log"
[ -x $build/unioncam_tests ] || { echo "build failed"; exit 1; }
# UNIONCAM_CUDA_SYNC=1: a fault inside a kernel is reported at its launch (file:line), not at
# the next copy; the tests are small enough for the synchronization not to matter.
echo "== tests" | tee "$out/test.log"
(cd $build && UNIONCAM_CUDA_SYNC=1 ctest -j "$(nproc)" --output-on-failure --timeout 240 2>&1) | tee -a "$out/test.log" || status=1
# Every group's whole output (the `cuda` group's too), passed or not, without running anything twice.
cp $build/Testing/Temporary/LastTest.log "$out/ctest_full.log" 2>/dev/null || true
echo "== bench" | tee "$out/bench.log"
for p in fp32 tf32; do
  timeout 150 bash tools/bench.sh $build --device cuda --precision $p --batch 128 --methods all 2>&1 | tee -a "$out/bench.log"
  cp $build/bench.json "$out/bench_$p.json" 2>/dev/null || true
done
# How forward() should run the convolutions (NetworkOptions::layout): each variant at batch 128.
echo "== layouts (VGG16 forward, batch 128)" | tee "$out/layouts.log"
for p in tf32 fp32; do
  for l in nhwc nchw unfused; do
    timeout 60 $build/unioncam bench --device cuda --precision $p --batch 128 --layout $l --runs 20 --json 2>&1 | tee -a "$out/layouts.log"
  done
done
exit $status
