#!/usr/bin/env bash
# The GPU check (GPU.md): CUDA build for sm_90, every test including CUDA-against-CPU, and the
# benchmark beside PyTorch, forward and every CAM method. Logs and JSON go to OUT, each written
# as its step runs, so a run cut short still returns what it finished. No network access.
# stb headers: /usr/include/stb, else a copy carried in .stb/ (the reference GPU machine has none).
#
# Device time is scarce, so the whole check has a deadline (GPU_CHECK_SECONDS, default 290):
# the steps run most useful first (build, tests, tf32 benchmark, layouts, fp32 and bf16
# benchmarks), each bounded by the time left; a step that no longer fits is skipped and says so.
set -uo pipefail
out=${1:-gpu-check-out}
mkdir -p "$out"
build=build-gpu
deadline=$((SECONDS + ${GPU_CHECK_SECONDS:-290}))
left() { echo $((deadline - SECONDS)); }
# fits SECONDS WHAT: true when at least SECONDS remain, else notes the skip in summary.log.
fits() {
  if [ "$(left)" -ge "$1" ]; then return 0; fi
  echo "skipped (deadline, $(left) s left): $2" | tee -a "$out/summary.log"
  return 1
}
stb=/usr/include/stb
[ -f $stb/stb_image.h ] || stb=$PWD/.stb
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
status=0
# The Python with PyTorch for the reference tests and the benchmark's PyTorch side.
if [ -z "${PYTHON:-}" ]; then
  for py in /usr/bin/python3 "$(command -v python3)"; do
    if "$py" -c "import torch" 2>/dev/null; then export PYTHON=$py; break; fi
  done
fi
{
  echo "== machine"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  "$nvcc" --version | tail -2
  echo "python: ${PYTHON:-none with torch}"
  "${PYTHON:-python3}" -c "import torch, torchvision, numpy, h5py, PIL; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'torchvision', torchvision.__version__)" 2>&1 | tail -1
} 2>&1 | tee "$out/machine.log"

echo "== configure + build" | tee "$out/build.log"
cmake -S . -B $build -DCMAKE_BUILD_TYPE=Release -DUNIONCAM_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
      -DCMAKE_CUDA_COMPILER="$nvcc" -DSTB_INCLUDE_DIR="$stb" >"$out/configure.log" 2>&1
grep -E "unioncam:|Error|error" "$out/configure.log" | tee -a "$out/build.log"
# The whole compiler output is kept; the summary shows errors, warnings and link failures.
timeout "$(left)" cmake --build $build -j "$(nproc)" >"$out/build_full.log" 2>&1
grep -E "error|warning|undefined reference" "$out/build_full.log" | head -50 | tee -a "$out/build.log"
[ -x $build/unioncam_tests ] && [ -x $build/unioncam ] || { echo "build failed: see build_full.log" | tee -a "$out/build.log"; exit 1; }
echo "build done at $SECONDS s" | tee -a "$out/summary.log"
$build/unioncam --version 2>&1 | tee -a "$out/machine.log"  # what the binary itself sees: cuDNN, driver, device

# UNIONCAM_CUDA_SYNC=1: a fault inside a kernel is reported at its launch (file:line), not at
# the next copy. UNIONCAM_REQUIRE_GPU=1: no usable GPU (or no PyTorch) fails instead of skipping.
if fits 60 "tests"; then
  echo "== tests" | tee "$out/test.log"
  (cd $build && UNIONCAM_REQUIRE_GPU=1 UNIONCAM_CUDA_SYNC=1 \
     timeout "$(( $(left) - 30 ))" ctest -j "$(nproc)" --output-on-failure --timeout 200 2>&1) | tee -a "$out/test.log" || status=1
  # Every group's whole output (the `cuda` group's too), passed or not, without running anything twice.
  cp $build/Testing/Temporary/LastTest.log "$out/ctest_full.log" 2>/dev/null || true
  echo "tests done at $SECONDS s" | tee -a "$out/summary.log"
fi

# bench P: this runtime beside PyTorch at batch 128 with every CAM method (bench.sh).
bench() {
  fits 40 "bench $1" || return 0
  echo "== bench $1" | tee -a "$out/bench.log"
  rm -f $build/bench.json  # never report an earlier precision's results as this one's
  if timeout "$(( $(left) - 10 ))" bash scripts/bench.sh $build --device cuda --precision "$1" --batch 128 --methods all 2>&1 | tee -a "$out/bench.log"; then
    cp $build/bench.json "$out/bench_$1.json"
  else
    echo "bench $1 failed or ran out of time" | tee -a "$out/summary.log"; status=1
  fi
}
# How forward() should run the convolutions (NetworkOptions::layout): each variant at batch 128.
# The default (nhwc) also part by part (--profile): where the time of the batch-128 target goes.
layouts() {
  for l in nhwc nchw unfused; do
    fits 15 "layout $1 $l" || return 0
    profile=""; [ $l = nhwc ] && profile=--profile
    timeout "$(( $(left) < 30 ? $(left) : 30 ))" $build/unioncam bench --device cuda --precision "$1" --batch 128 --layout $l --runs 20 $profile --json 2>&1 | tee -a "$out/layouts.log"
  done
}
bench tf32
echo "== layouts (VGG16 forward, batch 128)" | tee "$out/layouts.log"
layouts tf32
layouts bf16
bench fp32
bench bf16
layouts fp32
echo "finished at $SECONDS s (deadline $((deadline - SECONDS)) s away), status $status" | tee -a "$out/summary.log"
exit $status
