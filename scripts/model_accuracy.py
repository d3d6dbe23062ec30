#!/usr/bin/python3
"""Test accuracy of one or more weights files on a make_dataset.py test split, computed by the
runtime (unioncam predict --json), with its 95 % interval, per class, and for each later file
the paired difference against the first (the same images, so a small gain can be told from noise).
With --ensemble, also the accuracy of the files' mean class probabilities: what one model might
reach if it were distilled from them. With --by-size, the accuracy per class by quarters of
object size within that class (from test/masks/; PIL reads them), so that size is not confounded
with the classes' shapes.

  scripts/model_accuracy.py DATA_DIR W1.h5 [W2.h5 ...] [--limit N] [--ensemble] [--by-size] [--bin build/unioncam]

DATA_DIR holds test/labels.csv and test/images/ (make_dataset.py --train 0 --val 0 --test 10000
makes the whole split). Needs only numpy (and PIL for --by-size); the images are sent to unioncam
in chunks.
"""
import argparse
import csv
import json
import math
import os
import subprocess

import numpy as np


def test_split(data, limit=None):
    """The test split's first `limit` rows of labels.csv, their image paths, classes and class names."""
    with open(os.path.join(data, "test", "labels.csv")) as f:
        rows = list(csv.DictReader(f))[:limit]
    if not rows:
        raise SystemExit(f"{data}/test/labels.csv: no images")
    paths = [os.path.join(data, "test", "images", r["file"]) for r in rows]
    return rows, paths, np.array([int(r["class"]) for r in rows]), {int(r["class"]): r["class_name"] for r in rows}


def scores(binary, weights, paths, chunk=2000):
    """Every class's probability and logit for every image (two images x classes arrays), from
    unioncam predict --json with --topk above any class count (it is clamped); chunked for
    argument-length limits."""
    probs, logits = [], []
    for i in range(0, len(paths), chunk):
        run = subprocess.run([binary, "predict", "--weights", weights, "--topk", "1000000", "--json", "--quiet",
                              "--device", "cpu"] + paths[i:i + chunk], capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"{binary} predict failed on {weights} (exit {run.returncode}): {run.stderr.strip()}")
        for im in json.loads(run.stdout)["images"]:
            p, l = np.zeros(len(im["top"])), np.zeros(len(im["top"]))
            for t in im["top"]:
                p[t["class"]], l[t["class"]] = t["prob"], t["logit"]
            probs.append(p)
            logits.append(l)
    return np.array(probs), np.array(logits)


def object_sides(data, rows):
    """Each image's object size: the square root of its mask's pixel count per item (make_dataset.py
    writes one mask per image, non-zero on the object(s), and the item count in labels.csv)."""
    from PIL import Image
    if not os.path.isdir(os.path.join(data, "test", "masks")):
        raise SystemExit(f"{data}/test/masks: no such folder (--by-size needs make_dataset.py's masks)")
    area = [(np.asarray(Image.open(os.path.join(data, "test", "masks", r["file"]))) > 0).sum() for r in rows]
    return np.sqrt(np.array(area, dtype=np.float64) / np.array([int(r["items"]) for r in rows]))


def print_by_size(right, y, sides, names):
    """Accuracy per class in the quarters of that class's object sizes, smallest first."""
    table = []
    for c in sorted(names):
        s, r = sides[y == c], right[y == c]
        q = np.quantile(s, [0, 0.25, 0.5, 0.75, 1])
        quarter = np.searchsorted(q[1:-1], s, side="right")  # 0..3, each image in exactly one
        table.append([r[quarter == j].mean() if (quarter == j).any() else np.nan for j in range(4)])
        print(f"    {names[c]:12s}" + "".join(f" {100 * v:5.1f}" for v in table[-1])
              + f"   (object side {q[0]:.0f} to {q[-1]:.0f} px, median {q[2]:.0f})")
    print("    mean        " + "".join(f" {100 * v:5.1f}" for v in np.nanmean(table, axis=0)))


def interval(x):
    """Mean and the half-width of its 95 % confidence interval (normal approximation)."""
    return x.mean(), 1.96 * x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data")
    p.add_argument("weights", nargs="+")
    p.add_argument("--limit", type=int)
    p.add_argument("--ensemble", action="store_true", help="also score the mean of the files' probabilities")
    p.add_argument("--by-size", action="store_true", help="also accuracy by object-size quarter within each class")
    p.add_argument("--bin", default="build/unioncam")
    a = p.parse_args()
    rows, paths, y, names = test_split(a.data, a.limit)
    sides = object_sides(a.data, rows) if a.by_size else None
    first, probs = None, []
    runs = [(w, None) for w in a.weights] + ([("the ensemble (mean probabilities)", "mean")] if a.ensemble else [])
    for w, kind in runs:
        probs.append(np.mean(probs, axis=0) if kind == "mean" else scores(a.bin, w, paths)[0])
        right = (probs[-1].argmax(1) == y).astype(np.float64)
        acc, hw = interval(right)
        print(f"{w}: {100 * acc:.2f} % ± {100 * hw:.2f} on {len(y)} images")
        print("  per class: " + ", ".join(f"{names[c]} {100 * right[y == c].mean():.1f} %" for c in sorted(names)))
        if sides is not None:
            print("  per class by quarter of object size within the class (smallest first), on the 224-px image:")
            print_by_size(right, y, sides, names)
        if first is None:
            first = right
            continue
        d, dhw = interval(right - first)
        print(f"  against {a.weights[0]}: {100 * d:+.2f} ± {100 * dhw:.2f} points (paired); right only here "
              f"{int(((right == 1) & (first == 0)).sum())}, only there {int(((right == 0) & (first == 1)).sum())}")


if __name__ == "__main__":
    main()
