#!/usr/bin/env bash
# make fuzz: each libFuzzer target (tests/fuzz/) for SECONDS, from its seeds (tests/fuzz/seeds.txt and
# tests/fuzz/corpus/<target>/) and the corpus earlier runs grew in BUILD/corpus/<target>/.
# A finding is written to BUILD/findings/ and fails the run: commit it to
# tests/fuzz/regressions/<target>/, where the unit tests replay it, and fix it.
#   scripts/fuzz.sh BUILD SECONDS [TARGET...]     (targets: image weights cli; default all three)
set -uo pipefail
build=${1:?usage: fuzz.sh BUILD SECONDS}
seconds=${2:-60}
shift $(($# < 2 ? $# : 2))
targets=${*:-image weights cli}
src=$(cd "$(dirname "$0")/.." && pwd)
status=0
mkdir -p "$build/findings"
for target in $targets; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  awk -v t="$target" '$1 == t {print $2}' "$src/tests/fuzz/seeds.txt" | while read -r f; do cp "$src/$f" "$corpus/"; done
  cp "$src/tests/fuzz/corpus/$target/"* "$corpus/" 2>/dev/null || true
  cp "$src/tests/fuzz/regressions/$target/"* "$corpus/" 2>/dev/null || true
  echo "== fuzz_$target for $seconds s ($(ls "$corpus" | wc -l) inputs to start from)"
  # -rss_limit_mb: a refused image or weights file must not grow memory past what a VGG needs.
  # -malloc_limit_mb: a corrupt object header makes HDF5 malloc what it claims (8 GB seen) and
  # never touch it; the memory really used stays under the RSS limit, which is what counts.
  # fast_unwind_on_malloc=0: HDF5 has no frame pointers, and the suppressions need whole stacks.
  # allocator_may_return_null=1: a corrupt file makes HDF5 ask for absurd blocks (2^56 bytes);
  # malloc then returns null, as it does outside the sanitizer, and HDF5 reports an error.
  # tests/asan.supp: an over-read inside HDF5 itself (see there).
  if ! ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0:allocator_may_return_null=1:suppressions="$src/tests/asan.supp" \
      LSAN_OPTIONS=suppressions="$src/tests/lsan.supp" \
      UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "$build/fuzz_$target" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=3072 -malloc_limit_mb=65536 \
      -artifact_prefix="$build/findings/$target-" -print_final_stats=1 "$corpus" \
      >"$build/fuzz_$target.log" 2>&1; then
    status=1
    echo "fuzz_$target: FINDING (see $build/fuzz_$target.log and $build/findings/)"
    grep -E "ERROR|runtime error|SUMMARY" "$build/fuzz_$target.log" | head -5
  fi
  grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "$build/fuzz_$target.log" | tr '\n' ' '
  echo
done
exit $status
