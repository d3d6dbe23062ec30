#!/usr/bin/env python3
"""One figure per image of an `unioncam explain --dump` file (all methods): how each map is made.

    plot_dump.py DUMP.h5 OUT_DIR [--images NAME ...] [--top 4]

Per image, OUT_DIR/<image>.png shows: the input; the top channels of A and G (by Grad-CAM
weight); Grad-CAM's and Grad-CAM++'s channel weights; Score-CAM's scores against Grad-CAM's
weights; UnionCAM's θ-thresholds t_k and α_k; L_den, L_reg and L_dr with their β and the map
selected; and each method's final map. Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import os

import h5py
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def show_input(ax, x):
    img = np.transpose(x, (1, 2, 0))
    img = (img - img.min()) / max(1e-12, img.max() - img.min())  # normalized input, for display
    ax.imshow(img)
    ax.set_axis_off()


def plot_image(g, root, out_path, top):
    A, G = g["activations"][()], g["gradients"][()]
    K = A.shape[0]
    w_grad = g["gradcam/weights"][()] if "gradcam" in g else G.reshape(K, -1).mean(1)
    order = np.argsort(-w_grad)[:top]
    fig = plt.figure(figsize=(16, 12))
    grid = fig.add_gridspec(4, max(6, top + 1))
    ax = fig.add_subplot(grid[0, 0])
    show_input(ax, g["input"][()])
    ax.set_title(f"{g.attrs['class_name']} ({100 * g.attrs['prob']:.1f}%)", fontsize=9)
    for i, k in enumerate(order):
        a = fig.add_subplot(grid[0, i + 1])
        a.imshow(A[k], cmap="viridis")
        a.set_title(f"A[{k}]  w={w_grad[k]:.3g}", fontsize=8)
        a.set_axis_off()
        b = fig.add_subplot(grid[1, i + 1])
        b.imshow(G[k], cmap="coolwarm", vmin=-abs(G[k]).max(), vmax=abs(G[k]).max())
        b.set_title(f"G[{k}]", fontsize=8)
        b.set_axis_off()
    ax = fig.add_subplot(grid[1, 0])
    ax.text(0.0, 0.5, f"layer {root['layer']}\nK = {K} channels of {A.shape[1]}x{A.shape[2]}\n"
            f"score {root['score']}, masks {root['mask_space']}\ntheta {root['theta']:g}, "
            f"region {root['region']}", fontsize=9, va="center")
    ax.set_axis_off()

    ax = fig.add_subplot(grid[2, 0:2])
    ax.bar(np.arange(K), w_grad, width=1.0, label="Grad-CAM w_k (mean G_k)")
    if "gradcampp" in g:
        wpp = g["gradcampp/weights"][()]
        ax.bar(np.arange(K), wpp / max(1e-12, abs(wpp).max()) * abs(w_grad).max(), width=1.0,
               alpha=0.5, label="Grad-CAM++ w_k (rescaled)")
    ax.set_xlabel("channel k", fontsize=8)
    ax.legend(fontsize=7)
    if "scorecam" in g:
        ax = fig.add_subplot(grid[2, 2:4])
        s = g["scorecam/scores"][()]
        live = ~np.isnan(s)
        ax.scatter(w_grad[live], s[live], s=6)
        ax.set_xlabel("Grad-CAM weight w_k", fontsize=8)
        ax.set_ylabel("Score-CAM score s_k", fontsize=8)
        ax.set_title(f"{live.sum()} of {K} channels forwarded", fontsize=8)
    if "unioncam" in g:
        u = g["unioncam"]
        ax = fig.add_subplot(grid[2, 4:6])
        ax.plot(u["threshold"][()], lw=0.8, label="t_k (θ-percentile of G_k)")
        ax2 = ax.twinx()
        ax2.plot(u["alpha"][()], lw=0.8, color="tab:red", label="α_k")
        ax.set_xlabel("channel k", fontsize=8)
        ax.legend(fontsize=7, loc="upper left")
        ax2.legend(fontsize=7, loc="upper right")
        b = {k: float(u.attrs[k]) for k in ("beta_den", "beta_reg", "beta_dr")}
        for i, (name, beta) in enumerate((("L_den", b["beta_den"]), ("L_reg", b["beta_reg"]),
                                          ("L_dr", b["beta_dr"]))):
            a = fig.add_subplot(grid[3, i])
            a.imshow(u[name][()], cmap="jet", vmin=0, vmax=1)
            chosen = (name == "L_dr") == (u.attrs["selected"] == "fused") and name != "L_den"
            a.set_title(f"{name}  β={beta:.3f}" + ("  <- selected" if chosen else ""), fontsize=8)
            a.set_axis_off()
    col = 3
    for method in ("gradcam", "gradcampp", "scorecam", "groupcam"):
        if method in g and "map" in g[method] and col < grid.ncols:
            a = fig.add_subplot(grid[3, col])
            a.imshow(g[f"{method}/map"][()], cmap="jet", vmin=0, vmax=1)
            a.set_title(method, fontsize=8)
            a.set_axis_off()
            col += 1
    fig.tight_layout()
    fig.savefig(out_path, dpi=80)
    plt.close(fig)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("dump")
    p.add_argument("out")
    p.add_argument("--images", nargs="*", help="group names (default: every image)")
    p.add_argument("--top", type=int, default=4, help="channels shown (default 4)")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    with h5py.File(a.dump, "r") as f:
        for name in a.images or list(f):
            path = os.path.join(a.out, f"{name}.png")
            plot_image(f[name], f.attrs, path, a.top)
            print(path)


if __name__ == "__main__":
    main()
