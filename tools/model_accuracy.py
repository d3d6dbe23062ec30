#!/usr/bin/python3
"""Test accuracy of one or more weights files on a make_dataset.py test split, computed by the
runtime (unioncam predict --json), with its 95 % interval, per class, and for each later file
the paired difference against the first (the same images, so a small gain can be told from noise).
With --ensemble, also the accuracy of the files' mean class probabilities: what one model might
reach if it were distilled from them.

  tools/model_accuracy.py DATA_DIR W1.h5 [W2.h5 ...] [--limit N] [--ensemble] [--bin build/unioncam]

DATA_DIR holds test/labels.csv and test/images/ (make_dataset.py --train 0 --val 0 --test 10000
makes the whole split). Needs only numpy; the images are sent to unioncam in chunks.
"""
import argparse
import csv
import json
import math
import os
import subprocess

import numpy as np


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


def interval(x):
    """Mean and the half-width of its 95 % confidence interval (normal approximation)."""
    return x.mean(), 1.96 * x.std(ddof=1) / math.sqrt(len(x)) if len(x) > 1 else float("nan")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data")
    p.add_argument("weights", nargs="+")
    p.add_argument("--limit", type=int)
    p.add_argument("--ensemble", action="store_true", help="also score the mean of the files' probabilities")
    p.add_argument("--bin", default="build/unioncam")
    a = p.parse_args()
    with open(os.path.join(a.data, "test", "labels.csv")) as f:
        rows = list(csv.DictReader(f))[:a.limit]
    if not rows:
        raise SystemExit(f"{a.data}/test/labels.csv: no images")
    paths = [os.path.join(a.data, "test", "images", r["file"]) for r in rows]
    y = np.array([int(r["class"]) for r in rows])
    names = {int(r["class"]): r["class_name"] for r in rows}
    first, probs = None, []
    runs = [(w, None) for w in a.weights] + ([("the ensemble (mean probabilities)", "mean")] if a.ensemble else [])
    for w, kind in runs:
        probs.append(np.mean(probs, axis=0) if kind == "mean" else scores(a.bin, w, paths)[0])
        right = (probs[-1].argmax(1) == y).astype(np.float64)
        acc, hw = interval(right)
        print(f"{w}: {100 * acc:.2f} % ± {100 * hw:.2f} on {len(y)} images")
        print("  per class: " + ", ".join(f"{names[c]} {100 * right[y == c].mean():.1f} %" for c in sorted(names)))
        if first is None:
            first = right
            continue
        d, dhw = interval(right - first)
        print(f"  against {a.weights[0]}: {100 * d:+.2f} ± {100 * dhw:.2f} points (paired); right only here "
              f"{int(((right == 1) & (first == 0)).sum())}, only there {int(((right == 0) & (first == 1)).sum())}")


if __name__ == "__main__":
    main()
