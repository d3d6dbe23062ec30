#!/usr/bin/python3
"""Writes the Markdown report of `make benchmark-quality`: the eval table of this benchmark beside
the UnionCAM paper's ImageNet table (METHODS.md), each metric's ranking in both, and where they agree.

  quality_report.py --eval eval.json --predict predict.json --labels labels.csv --weights W.h5 \
      [--per-image per_image.csv] --seconds 123 --out report.md

With eval's --per-image rows it also compares UnionCAM with each method image by image (paired
95 % intervals of the difference), so that the report says which gaps are larger than the noise.
"""
import argparse
import csv
import json
import math
import os
import platform

METHODS = ["gradcam", "gradcampp", "scorecam", "groupcam", "unioncam"]
NAMES = {"gradcam": "Grad-CAM", "gradcampp": "Grad-CAM++", "scorecam": "Score-CAM", "groupcam": "Group-CAM",
         "unioncam": "UnionCAM"}
# (json key, column title, higher is better)
METRICS = [("avg_drop", "Avg Drop ↓", False), ("avg_increase", "Avg Inc ↑", True), ("insertion", "Insertion ↑", True),
           ("deletion", "Deletion ↓", False), ("overall", "Overall ↑", True), ("pointing", "Pointing ↑", True),
           ("energy", "Energy ↑", True)]
# METHODS.md: the UnionCAM paper, ILSVRC2012 val, 2,000 images, VGG16 (no localization columns).
PAPER = {
    "gradcam": {"avg_drop": 72.30, "avg_increase": 19.45, "insertion": 53.5, "deletion": 13.3, "overall": 40.2},
    "gradcampp": {"avg_drop": 67.62, "avg_increase": 16.35, "insertion": 50.0, "deletion": 14.8, "overall": 35.2},
    "scorecam": {"avg_drop": 56.11, "avg_increase": 22.7, "insertion": 55.1, "deletion": 11.5, "overall": 43.6},
    "groupcam": {"avg_drop": 63.46, "avg_increase": 21.4, "insertion": 56.8, "deletion": 12.3, "overall": 44.5},
    "unioncam": {"avg_drop": 43.15, "avg_increase": 28.95, "insertion": 57.2, "deletion": 11.9, "overall": 45.3},
}


# json key -> (per-image CSV column, scale to the summary's units)
PER_IMAGE = {"avg_drop": ("drop", 1), "avg_increase": ("increase", 100), "insertion": ("insertion", 1),
             "deletion": ("deletion", 1), "overall": ("overall", 1), "pointing": ("pointing", 100),
             "energy": ("energy", 100)}


def mean_half_width(values):
    """Mean and the half-width of its 95 % normal confidence interval."""
    n = len(values)
    mean = sum(values) / n
    if n < 2:
        return mean, 0.0
    return mean, 1.96 * math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)


def paired_differences(rows, key, other):
    """UnionCAM minus `other` on `key`, image by image: (mean, 95 % half-width), or None."""
    column, scale = PER_IMAGE[key]
    by = {}
    for r in rows:
        if r[column] != "":
            by.setdefault(r["method"], {})[r["image"]] = scale * float(r[column])
    if "unioncam" not in by or other not in by:
        return None
    common = sorted(set(by["unioncam"]) & set(by[other]))
    return mean_half_width([by["unioncam"][i] - by[other][i] for i in common]) if common else None


def ranking(values, higher_better):
    """Methods from best to worst (ties keep METHODS order)."""
    return sorted(values, key=lambda m: -values[m] if higher_better else values[m])


def kendall_tau(a, b):
    pos_b = {m: i for i, m in enumerate(b)}
    concordant = discordant = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            if pos_b[a[i]] < pos_b[a[j]]:
                concordant += 1
            else:
                discordant += 1
    return (concordant - discordant) / max(1, concordant + discordant)


def table(rows, columns):
    """A Markdown table; values with a "ci95" entry are shown as mean ± half-width."""
    def cell(row, key):
        if row.get(key) is None:
            return "–"
        half = (row.get("ci95") or {}).get(key)
        return f"{row[key]:.2f}" + ("" if half is None else f" ± {half:.2f}")
    out = ["| Method | " + " | ".join(title for _, title, _ in columns) + " |",
           "|---|" + "---:|" * len(columns)]
    for m in METHODS:
        if m in rows:
            out.append(f"| {NAMES[m]} | " + " | ".join(cell(rows[m], key) for key, _, _ in columns) + " |")
    return "\n".join(out)


def paired_section(rows):
    """UnionCAM against each other method, per metric: the paired difference and its verdict."""
    others = [m for m in METHODS if m != "unioncam"]
    lines = ["## UnionCAM against each method, image by image", "",
             "UnionCAM's value minus the other method's on the same images: mean ± 95 % half-width. "
             "**better** / **worse** when the interval excludes 0; \"tie\" when the gap is within the noise "
             "of this many images.", "",
             "| Metric | " + " | ".join(f"vs {NAMES[m]}" for m in others) + " |",
             "|---|" + "---|" * len(others)]
    for key, title, higher in METRICS:
        cells = []
        for m in others:
            d = paired_differences(rows, key, m)
            if d is None:
                cells.append("–")
                continue
            mean, half = d
            verdict = "tie" if abs(mean) <= half else ("better" if (mean > 0) == higher else "worse")
            cells.append(f"{mean:+.2f} ± {half:.2f} " + (verdict if verdict == "tie" else f"**{verdict}**"))
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--eval", required=True)
    p.add_argument("--predict", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--per-image", help="eval --per-image CSV: adds the paired comparison")
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    ev = json.load(open(a.eval))
    ours = ev["methods"]
    truth = {r["file"]: int(r["class"]) for r in csv.DictReader(open(a.labels))}
    preds = json.load(open(a.predict))["images"]
    correct = sum(truth[os.path.basename(i["path"])] == i["top"][0]["class"] for i in preds)
    accuracy = 100 * correct / max(1, len(preds))

    lines = [
        "# CAM quality on the bundled demo model",
        "",
        f"`{a.weights}` on the first {ev['n_images']} images of the test split of `scripts/make_dataset.py` "
        f"(seed 0; Fashion-MNIST t10k items on photographs, object masks known). The model's top-1 accuracy on "
        f"these images (unioncam): **{accuracy:.1f} %**. Every method explains the top-1 class, as in the paper. "
        f"`unioncam eval` took {a.seconds:.0f} s ({platform.machine()}, {os.cpu_count()} cores).",
        "",
        "## This benchmark",
        "",
        "Mean ± the half-width of its 95 % confidence interval over the images.",
        "",
        table(ours, METRICS),
        "",
        "## The UnionCAM paper (ILSVRC2012 val, 2,000 images, VGG16; METHODS.md)",
        "",
        table(PAPER, METRICS[:5]),
        "",
        "## Rankings, best to worst",
        "",
        "| Metric | this benchmark | paper | Kendall τ | same best? | UnionCAM here / paper |",
        "|---|---|---|---:|---|---|",
    ]
    agree, disagree = [], []
    for key, title, higher in METRICS:
        here = ranking({m: ours[m][key] for m in METHODS if m in ours and ours[m].get(key) is not None}, higher)
        if len(here) != len(METHODS):
            continue
        if key not in PAPER["unioncam"]:
            lines.append(f"| {title} | {' > '.join(NAMES[m] for m in here)} | – | – | – | "
                         f"{here.index('unioncam') + 1} / – |")
            continue
        paper = ranking({m: PAPER[m][key] for m in METHODS}, higher)
        tau = kendall_tau(here, paper)
        same_best = here[0] == paper[0]
        lines.append(f"| {title} | {' > '.join(NAMES[m] for m in here)} | {' > '.join(NAMES[m] for m in paper)} | "
                     f"{tau:+.2f} | {'yes' if same_best else 'no'} | "
                     f"{here.index('unioncam') + 1} / {paper.index('unioncam') + 1} |")
        (agree if same_best else disagree).append((title, here, paper))
    lines += ["", "## Where the rankings agree and where they do not", ""]
    for title, here, paper in agree:
        lines.append(f"- {title}: {NAMES[here[0]]} is best here as in the paper.")
    for title, here, paper in disagree:
        lines.append(f"- {title}: {NAMES[here[0]]} is best here; the paper has {NAMES[paper[0]]} "
                     f"({NAMES[paper[0]]} ranks {here.index(paper[0]) + 1} of {len(here)} here).")
    if a.per_image:
        lines += [""] + paired_section(list(csv.DictReader(open(a.per_image))))
    text = "\n".join(lines) + "\n"
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
