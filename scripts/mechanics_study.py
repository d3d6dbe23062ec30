#!/usr/bin/env python3
"""Reads what scripts/mechanics_study.sh wrote into OUT and prints the tables of
docs/mechanics.md (means with 95 % intervals over images); writes OUT/betas.png.

    mechanics_study.py OUT MASKS_DIR
"""
import csv
import math
import os
import sys

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

METRICS = ("drop", "increase", "deletion", "insertion", "overall", "energy")


def mean_ci(values):
    v = np.asarray(values, np.float64)
    half = 1.96 * v.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0.0
    return v.mean(), half


def fmt(values, scale=1.0, digits=2):
    m, h = mean_ci(np.asarray(values) * scale)
    return f"{m:.{digits}f} ± {h:.{digits}f}"


def wilson(k, n):
    """The share k/n with its 95 % Wilson interval, in percent."""
    if n == 0:
        return "—"
    p, z = k / n, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{100 * p:.1f} % [{100 * (centre - half):.1f}, {100 * (centre + half):.1f}]"


def read_rows(path):
    rows = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            stem = os.path.splitext(os.path.basename(r["image"]))[0]
            rows.setdefault(r["method"], {})[stem] = {
                k: float(r[k]) * (100 if k == "energy" else 1) for k in METRICS}
    return rows


def mask_at(masks_dir, stem, h, w):
    m = np.asarray(Image.open(os.path.join(masks_dir, stem + ".png")).convert("RGB")).max(axis=2) > 0
    ys = np.minimum(((np.arange(h) + 0.5) * m.shape[0] / h).astype(int), m.shape[0] - 1)
    xs = np.minimum(((np.arange(w) + 0.5) * m.shape[1] / w).astype(int), m.shape[1] - 1)
    return m[ys][:, xs]


def top_share(L, frac=0.1):
    """The share of a map's mass in its top `frac` of pixels: how concentrated it is."""
    v = np.sort(L.ravel())[::-1]
    return v[: max(1, int(frac * v.size))].sum() / max(1e-12, v.sum())


def main():
    out, masks_dir = sys.argv[1], sys.argv[2]
    base = read_rows(os.path.join(out, "base.csv"))
    stems = sorted(base["unioncam"])
    n = len(stems)
    print(f"### The methods on {n} images\n")
    print("| method | Average Drop ↓ | Average Increase ↑ | Deletion ↓ | Insertion ↑ | Overall ↑ | energy in object ↑ |")
    print("|---|---|---|---|---|---|---|")
    for m in ("scorecam", "groupcam", "unioncam"):
        rows = [base[m][s] for s in stems]
        print(f"| {m} | " + " | ".join(
            fmt([r[k] for r in rows], 100 if k == "increase" else 1, 1) for k in METRICS) + " |")

    with h5py.File(os.path.join(out, "unioncam.h5"), "r") as f:
        u = {s: f[s]["unioncam"] for s in stems}
        beta = {k: np.array([float(u[s].attrs[k]) for s in stems])
                for k in ("beta_den", "beta_reg", "beta_dr")}
        fused = np.array([u[s].attrs["selected"] == "fused" for s in stems])
        den_zero = beta["beta_den"] <= 0
        conc = {k: [] for k in ("L_den", "L_reg", "L_dr")}
        inside = {k: [] for k in ("L_den", "L_reg", "L_dr")}
        added_in, added_out = [], []
        # θ changes L_den only where a channel's θ-th percentile passes 0: ReLU(Ĝ) drops the
        # non-positive gradients anyway. Per image, the smallest share (over channels with a
        # positive gradient) of non-positive gradients: any θ below it leaves L_den as it is.
        neutral_theta = []
        for s in stems:
            G = f[s]["gradients"][()].reshape(f[s]["gradients"].shape[0], -1)
            positive = (G > 0).any(axis=1)
            neutral_theta.append(100 * (G[positive] <= 0).mean(axis=1).min() if positive.any() else 100)
            maps = {k: u[s][k][()].astype(np.float64) for k in conc}
            mask = mask_at(masks_dir, s, *maps["L_reg"].shape)
            for k, L in maps.items():
                conc[k].append(100 * top_share(L))
                inside[k].append(100 * L[mask].sum() / max(1e-12, L.sum()))
            if u[s].attrs["selected"] == "fused":
                # What fusing did to the region map, as shares of L_reg's mass.
                d = maps["L_dr"] - maps["L_reg"]
                total = max(1e-12, maps["L_reg"].sum())
                added_in.append(100 * d[mask].sum() / total)
                added_out.append(100 * d[~mask].sum() / total)

    print(f"\n### UnionCAM's selection and its β ({n} images)\n")
    print(f"- fused map selected: {wilson(int(fused.sum()), n)} of the images")
    print(f"- β_den ≤ 0 (L_dr is L_reg, no fusion possible): {wilson(int(den_zero.sum()), n)}")
    q = np.percentile(neutral_theta, [10, 50, 90])
    print(f"- θ that leaves L_den unchanged (below every channel's share of non-positive "
          f"gradients): up to {fmt(neutral_theta, digits=1)} per image; 10/50/90 % quantiles "
          f"{q[0]:.1f} / {q[1]:.1f} / {q[2]:.1f}")
    for k in ("beta_den", "beta_reg", "beta_dr"):
        q = np.percentile(beta[k], [10, 50, 90])
        print(f"- {k}: mean {fmt(beta[k], digits=3)}; 10/50/90 % quantiles "
              f"{q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f}")
    print("\n| map | mass in its top 10 % of pixels | mass inside the object |")
    print("|---|---|---|")
    for k in conc:
        print(f"| {k} | {fmt(conc[k], digits=1)} % | {fmt(inside[k], digits=1)} % |")
    if added_in:
        print(f"\nOn the {len(added_in)} fused images, L_dr - L_reg adds {fmt(added_in, digits=1)} % "
              f"of L_reg's mass inside the object and {fmt(added_out, digits=1)} % outside it.")

    print(f"\n### Where UnionCAM differs from Score-CAM (paired, per image)\n")
    print("| images | n | Δ Average Drop | Δ Deletion | Δ Insertion | Δ Overall |")
    print("|---|---|---|---|---|---|")
    for label, sel in (("fused selected", fused), ("region selected", ~fused), ("all", fused | ~fused)):
        idx = [s for s, f_ in zip(stems, sel) if f_]
        if not idx:
            continue
        diff = {k: [base["unioncam"][s][k] - base["scorecam"][s][k] for s in idx]
                for k in ("drop", "deletion", "insertion", "overall")}
        print(f"| {label} | {len(idx)} | " + " | ".join(fmt(diff[k], digits=2) for k in diff) + " |")

    print("\n### Would θ or the region map change it?\n")
    print("| UnionCAM with | Average Drop ↓ | Average Increase ↑ | Deletion ↓ | Insertion ↑ | Overall ↑ |")
    print("|---|---|---|---|---|---|")
    variants = (("θ = 10, Score-CAM region (default)", "base.csv"), ("θ = 90", "theta90.csv"),
                ("θ = 10, Group-CAM region", "groupcam.csv"))
    for label, name in variants:
        rows = read_rows(os.path.join(out, name))["unioncam"]
        rows = [rows[s] for s in stems]
        print(f"| {label} | " + " | ".join(
            fmt([r[k] for r in rows], 100 if k == "increase" else 1, 1)
            for k in ("drop", "increase", "deletion", "insertion", "overall")) + " |")
    print("\nPaired against the default, image by image:\n")
    print("| UnionCAM with | Δ Average Drop | Δ Deletion | Δ Overall |")
    print("|---|---|---|---|")
    default = base["unioncam"]
    for label, name in variants[1:]:
        rows = read_rows(os.path.join(out, name))["unioncam"]
        diff = {k: [rows[s][k] - default[s][k] for s in stems] for k in ("drop", "deletion", "overall")}
        print(f"| {label} | " + " | ".join(fmt(diff[k], digits=2) for k in diff) + " |")

    fig, ax = plt.subplots(figsize=(5, 4))
    ax.scatter(beta["beta_reg"][~fused], beta["beta_den"][~fused], s=8, label="region selected")
    ax.scatter(beta["beta_reg"][fused], beta["beta_den"][fused], s=8, label="fused selected")
    ax.set_xlabel("β_reg")
    ax.set_ylabel("β_den")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "betas.png"), dpi=90)


if __name__ == "__main__":
    main()
