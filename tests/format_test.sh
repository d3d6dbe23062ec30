#!/usr/bin/env bash
# Every C++/CUDA source follows .clang-format. Pinned to clang-format 14 (Debian 12's), since
# other versions format some constructs differently; skipped (exit 77) without it.
set -uo pipefail
src=${1:?usage: format_test.sh SOURCE_DIR}
cd "$src"
fmt=$(command -v clang-format-14 || true)
if [ -z "$fmt" ]; then
  echo "format: clang-format-14 not installed (apt-get install clang-format-14): skipped"
  exit 77
fi
files=$(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' 2>/dev/null || find core layers weights io runtime cam api include tools python tests examples -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh')
if "$fmt" --dry-run --Werror $files; then
  echo "format: $(echo $files | wc -w) files follow .clang-format"
else
  echo "format: the files above differ from .clang-format; run: clang-format-14 -i <file>"
  exit 1
fi
