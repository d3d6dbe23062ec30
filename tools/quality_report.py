#!/usr/bin/python3
"""Writes the Markdown report of `make benchmark-quality`: the eval table of this benchmark beside
the UnionCAM paper's ImageNet table (METHODS.md), each metric's ranking in both, and where they agree.

  quality_report.py --eval eval.json --predict predict.json --labels labels.csv --weights W.h5 \
      --seconds 123 --out report.md
"""
import argparse
import csv
import json
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
    out = ["| Method | " + " | ".join(title for _, title, _ in columns) + " |",
           "|---|" + "---:|" * len(columns)]
    for m in METHODS:
        if m in rows:
            out.append(f"| {NAMES[m]} | " + " | ".join(
                "–" if rows[m].get(key) is None else f"{rows[m][key]:.2f}" for key, _, _ in columns) + " |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--eval", required=True)
    p.add_argument("--predict", required=True)
    p.add_argument("--labels", required=True)
    p.add_argument("--weights", required=True)
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
        f"`{a.weights}` on the first {ev['n_images']} images of the test split of `tools/make_dataset.py` "
        f"(seed 0; Fashion-MNIST t10k items on photographs, object masks known). The model's top-1 accuracy on "
        f"these images (unioncam): **{accuracy:.1f} %**. Every method explains the top-1 class, as in the paper. "
        f"`unioncam eval` took {a.seconds:.0f} s ({platform.machine()}, {os.cpu_count()} cores).",
        "",
        "## This benchmark",
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
    text = "\n".join(lines) + "\n"
    tmp = a.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
