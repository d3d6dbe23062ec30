#!/usr/bin/env python3
"""The floors of DESIGN.md, enforced: each folder includes only from the floors it may use, and
its CMake library links exactly those floors.

    python3 tests/layering_test.py SOURCE_DIR

Fails naming each file and forbidden include (and each CMake library whose declared floors
differ from the table). Before checking the tree it checks itself on a scratch tree with
forbidden includes planted, so a checker that stopped seeing them fails too.
"""
import os
import re
import sys
import tempfile

# folder -> the project folders its files may include from (besides its own).
MAY_USE = {
    "core": set(),
    "layers": {"core"},
    "weights": {"core"},
    "io": {"core"},
    "runtime": {"core", "layers", "weights"},
    "cam": {"core", "layers", "runtime"},
    # The public API: its header (include/unioncam/, included as "unioncam/...") includes nothing
    # of the project, and api/ implements it over the floors.
    "include": set(),
    "api": {"core", "layers", "weights", "io", "runtime", "cam", "unioncam"},
    "tools": {"core", "layers", "weights", "io", "runtime", "cam", "api", "unioncam"},
    # The Python module: the public API only, as any user of the library.
    "python": {"unioncam"},
}
NOT_LIBRARIES = {"tools", "include", "python"}  # executables and modules, headers
PUBLIC_HEADERS = "unioncam"  # include/unioncam/: a folder of includes, not a floor library
SOURCE_SUFFIXES = (".h", ".cpp", ".cu", ".cuh")
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)
FLOOR_CALL = re.compile(r"^unioncam_floor\((\w+)\s+(\w+)((?:\s+\w+)*)\)", re.M)


def include_violations(root):
    """(file, include) for every quoted include of a project folder its floor may not use."""
    found = []
    for floor, allowed in MAY_USE.items():
        folder = os.path.join(root, floor)
        if not os.path.isdir(folder):
            continue
        for dirpath, _, names in os.walk(folder):
            for name in sorted(names):
                if not name.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for target in INCLUDE.findall(text):
                    top = target.split("/")[0] if "/" in target else None
                    # Folders that are no floor (tests/, scripts/) are forbidden to every floor.
                    if top is not None and top != floor and top not in allowed:
                        found.append((os.path.relpath(path, root), target))
    return found


def cmake_violations(root):
    """Messages for floors whose unioncam_floor() call links other floors than the table's."""
    with open(os.path.join(root, "CMakeLists.txt"), encoding="utf-8") as f:
        declared = {folder: (name, set(d.replace("unioncam_", "") for d in deps.split()))
                    for name, folder, deps in FLOOR_CALL.findall(f.read())}
    problems = []
    for floor, allowed in MAY_USE.items():
        if floor in NOT_LIBRARIES:
            continue
        allowed = allowed - {PUBLIC_HEADERS}
        if floor not in declared:
            problems.append(f"CMakeLists.txt: no unioncam_floor(... {floor} ...) library")
            continue
        name, deps = declared[floor]
        if deps != allowed:
            problems.append(f"CMakeLists.txt: {name} links {sorted(deps)}, "
                            f"the floor may use {sorted(allowed)}")
    return problems


def self_check():
    """The checker must see planted violations (and accept allowed includes)."""
    planted = {
        "layers/bad.cpp": '#include "core/tensor.h"\n#include "cam/cam.h"\n',
        "core/bad.cuh": '#include "layers/layers.h"\n',
        "io/bad.h": '#include  "runtime/network.h"\n#include "tests/check.h"\n',
        "cam/good.cpp": '#include "runtime/network.h"\n#include <vector>\n',
        "include/unioncam/bad.h": '#include <string>\n#include "core/tensor.h"\n',
        "api/good.cpp": '#include "unioncam/unioncam.h"\n#include "cam/cam.h"\n',
    }
    with tempfile.TemporaryDirectory() as tmp:
        for rel, text in planted.items():
            os.makedirs(os.path.join(tmp, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(tmp, rel), "w", encoding="utf-8") as f:
                f.write(text)
        got = sorted(include_violations(tmp))
    want = sorted([("layers/bad.cpp", "cam/cam.h"), ("core/bad.cuh", "layers/layers.h"),
                   ("io/bad.h", "runtime/network.h"), ("io/bad.h", "tests/check.h"),
                   ("include/unioncam/bad.h", "core/tensor.h")])
    if got != want:
        print(f"layering: the checker itself is wrong: found {got}, expected {want}")
        return False
    return True


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    if not self_check():
        return 1
    problems = [f"{path}: includes \"{target}\", but {path.split('/')[0]}/ may use only "
                f"{sorted(MAY_USE[path.split('/')[0]]) or 'nothing of the project'}"
                for path, target in include_violations(root)]
    problems += cmake_violations(root)
    for line in problems:
        print("layering:", line)
    checked = sum(1 for floor in MAY_USE for _, _, names in os.walk(os.path.join(root, floor))
                  for n in names if n.endswith(SOURCE_SUFFIXES))
    print(f"layering: {checked} files in {len(MAY_USE)} floors, "
          f"{len(problems)} violation{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
