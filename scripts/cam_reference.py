#!/usr/bin/python3
"""An independent PyTorch implementation of METHODS.md: Grad-CAM, Grad-CAM++, Score-CAM, Group-CAM,
UnionCAM and the evaluation metrics, written plainly (one image, one method at a time) so that it
can be read against the text. It writes an HDF5 reference that tests/test_cam_methods.cpp checks:

  root datasets   image [3,H,W] (pixel, [0,1]), input [3,H,W] (normalized), logits [classes],
                  mask [H,W] (synthetic object mask for the localization metrics, 0/1)
  root attributes weights, edits, layer, theta, groups, region, score, mask_space,
                  target_class (the option; -1 = top-1), class, channels, constant_channels
  /<method>       map [H,W]; metrics [8] (names in the root attribute metric_names);
                  insertion_curve, deletion_curve; attribute degenerate
  /unioncam       also attributes theta, beta_den, beta_reg, beta_dr, selected ("fused"|"region")

  cam_reference.py weights.h5 out.h5 --image img.png [--class 3] [--layer features.14]
      [--theta 10] [--groups 32] [--region scorecam|groupcam] [--score prob|logit]
      [--mask-space normalized|pixel] [--edit 'features.16.bias[:]=-1000' ...] [--float64]
  --image random:SEED uses a smooth seeded random image. --require fused|region tries the next
  --search image seeds (and every class) until UnionCAM selects that map.
"""
import argparse
import math
import os
import re
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# vgg_common lives beside the converter it serves (tools/export_vgg.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import vgg_common as vc  # noqa: E402

METHODS = ("gradcam", "gradcampp", "scorecam", "groupcam", "unioncam")
METRIC_NAMES = ("y", "o", "drop", "increase", "insertion", "deletion", "pointing", "energy")
BATCH = 16


# ---- model and inputs ------------------------------------------------------------------------

def apply_edits(state, edits):
    """Each edit is 'name[i]=v' (set row i of a tensor) or 'name[:]=v' (every element)."""
    for e in edits:
        m = re.fullmatch(r"([\w.]+)\[(:|\d+)\]=(.+)", e)
        if not m or m.group(1) not in state:
            raise SystemExit(f"bad edit {e!r}: expected name[i]=value or name[:]=value")
        t = state[m.group(1)]
        if m.group(2) == ":":
            t.fill_(float(m.group(3)))
        else:
            t[int(m.group(2))] = float(m.group(3))


def load_model(path, edits, dtype):
    state, attrs = vc.read_torchvision_h5(path)
    apply_edits(state, edits)
    model = vc.model_from_state_dict(state, str(attrs["arch"])).to(dtype)
    for m in model.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False  # the target activation must survive the layers after it
    size = np.atleast_1d(attrs.get("input_size", 224))
    mean = np.asarray(attrs.get("mean", (0.485, 0.456, 0.406)), dtype=np.float64)
    std = np.asarray(attrs.get("std", (0.229, 0.224, 0.225)), dtype=np.float64)
    return model, (int(size[0]), int(size[-1])), mean, std


def load_image(spec, size):
    """Pixel image [3,H,W] in [0,1], float32 values."""
    if spec.startswith("random:"):
        g = torch.Generator().manual_seed(int(spec[7:]))
        coarse = torch.rand(1, 3, 8, 8, generator=g, dtype=torch.float64)
        img = F.interpolate(coarse, size=size, mode="bilinear", align_corners=False)[0]
        return img.float()
    from PIL import Image
    img = Image.open(spec).convert("RGB").resize((size[1], size[0]), Image.BILINEAR)
    return torch.from_numpy(np.asarray(img, dtype=np.float32) / 255).permute(2, 0, 1).contiguous()


def default_layer(model):
    last = max(i for i, m in enumerate(model.features) if isinstance(m, nn.Conv2d))
    return "features." + str(next(i for i in range(last, len(model.features))
                                  if isinstance(model.features[i], nn.ReLU)))


# ---- the explainer ---------------------------------------------------------------------------

def norm(L):
    lo, hi = L.min(), L.max()
    if hi == lo:
        return torch.zeros_like(L)
    return (L - lo) / (hi - lo)


def up(maps, size):
    """Bilinear resize of [M,h,w] maps to [M,H,W], half-pixel centres."""
    return F.interpolate(maps[None], size=size, mode="bilinear", align_corners=False)[0]


def gaussian_blur(x, ksize=51, sigma=50.0):
    """Separable Gaussian of a [3,H,W] image, kernel normalized to sum 1, reflect borders."""
    r = ksize // 2
    t = torch.arange(ksize, dtype=torch.float64) - r
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = (k / k.sum()).to(x.dtype)
    y = F.pad(x[None], (r, r, r, r), mode="reflect")
    y = F.conv2d(y, k.view(1, 1, 1, ksize).repeat(3, 1, 1, 1), groups=3)
    y = F.conv2d(y, k.view(1, 1, ksize, 1).repeat(3, 1, 1, 1), groups=3)
    return y[0]


class Explainer:
    def __init__(self, model, image, mean, std, a):
        self.model, self.a = model, a
        dt = next(model.parameters()).dtype
        self.mean = torch.tensor(mean, dtype=dt).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=dt).view(3, 1, 1)
        self.image = image.to(dt)
        self.x = self.normalize(self.image)
        self.size = tuple(self.x.shape[1:])
        self.layer = a.layer or default_layer(model)
        self.blurred = gaussian_blur(self.x)

        logits, act = self.forward_keep(self.x[None])
        self.logits = logits[0].detach()
        self.c = int(self.logits.argmax()) if a.cls < 0 else a.cls
        logits[0, self.c].backward()  # G = d logit_c / d A
        self.A, self.G = act[0].detach(), act.grad[0].detach()

    def normalize(self, img):
        return (img - self.mean) / self.std

    def forward_keep(self, x):
        kept = []
        for i, m in enumerate(self.model.features):
            x = m(x)
            if f"features.{i}" == self.layer:
                x.retain_grad()
                kept.append(x)
        if not kept:
            raise SystemExit(f"no feature map {self.layer!r}")
        return self.model.classifier(torch.flatten(self.model.avgpool(x), 1)), kept[0]

    def scores(self, images, kind=None):
        """s_c of a stack of normalized images, forwarded in batches."""
        kind = kind or self.a.score
        out = []
        with torch.no_grad():
            for b in range(0, len(images), BATCH):
                z = self.model(images[b:b + BATCH])
                out.append(z[:, self.c] if kind == "logit" else torch.softmax(z, 1)[:, self.c])
        return torch.cat(out) if out else torch.zeros(0, dtype=self.x.dtype)

    def masked(self, M):
        """M ⊙ x in the chosen mask space for a stack of masks [m,H,W]."""
        if self.a.mask_space == "pixel":
            return self.normalize(M[:, None] * self.image[None])
        return M[:, None] * self.x[None]

    def baseline(self):
        return self.masked(torch.zeros(1, *self.size, dtype=self.x.dtype))[0]

    # Each method returns (map, degenerate): the map before norm() decides degenerate.
    def finish(self, L):
        return norm(L), bool(L.max() == L.min())

    def gradcam(self):
        w = self.G.mean((1, 2))
        return self.finish(up(torch.relu((w[:, None, None] * self.A).sum(0))[None], self.size)[0])

    def gradcampp(self):
        # pytorch-grad-cam's GradCAMPlusPlus: aij = g^2 / (2 g^2 + sum(A) g^3 + eps), 0 where
        # g == 0; weights = sum_ij relu(g) * aij.
        g2, g3 = self.G ** 2, self.G ** 3
        sum_a = self.A.sum((1, 2))[:, None, None]
        aij = torch.where(self.G != 0, g2 / (2 * g2 + sum_a * g3 + 1e-6), torch.zeros_like(g2))
        w = (torch.relu(self.G) * aij).sum((1, 2))
        return self.finish(up(torch.relu((w[:, None, None] * self.A).sum(0))[None], self.size)[0])

    def constant_channels(self):
        U = up(self.A, self.size)
        return int((U.amax((1, 2)) == U.amin((1, 2))).sum())

    def scorecam(self):
        U = up(self.A, self.size)
        s = torch.zeros(len(U), dtype=U.dtype)
        live = [k for k in range(len(U)) if U[k].max() != U[k].min()]  # constant: never forwarded
        if live:
            M = torch.stack([norm(U[k]) for k in live])
            s[live] = self.scores(self.masked(M))
        return self.finish(torch.relu((s[:, None, None] * U).sum(0)))

    def groupcam(self):
        # Probabilities whatever --score says: METHODS writes p_c here, not s_c.
        w = self.G.mean((1, 2))
        wA = w[:, None, None] * self.A
        S = torch.stack([torch.relu(chunk.sum(0)) for chunk in torch.chunk(wA, self.a.groups)])
        U = up(S, self.size)
        M = torch.stack([norm(u) for u in U])
        xg = M[:, None] * self.x[None] + (1 - M[:, None]) * self.blurred[None]
        s = self.scores(torch.cat([self.blurred[None], xg]), "prob")
        score = torch.relu(s[1:] - s[0])
        return self.finish((score[:, None, None] * U).sum(0))

    def unioncam(self):
        G, K = self.G, len(self.G)
        flat = G.reshape(K, -1)
        t = torch.quantile(flat, self.a.theta / 100, dim=1, interpolation="linear")
        Ghat = torch.where(flat >= t[:, None], flat, torch.zeros_like(flat))
        total = torch.relu(Ghat).sum(1)
        alpha = torch.where(total > 0, 1 / torch.where(total > 0, total, torch.ones_like(total)),
                            torch.zeros_like(total))
        P = (alpha[:, None] * torch.relu(Ghat)).reshape(G.shape)
        L_den, _ = self.finish(up(torch.relu((P * self.A).sum(0))[None], self.size)[0])
        L_reg, reg_degenerate = self.scorecam() if self.a.region == "scorecam" else self.groupcam()

        s = self.scores(torch.cat([self.baseline()[None], self.masked(torch.stack([L_den, L_reg]))]))
        beta_den, beta_reg = float(s[1] - s[0]), float(s[2] - s[0])
        bd, br = max(beta_den, 0.0), max(beta_reg, 0.0)
        info = {"theta": self.a.theta, "beta_den": beta_den, "beta_reg": beta_reg}
        if bd == 0 and br > 0:  # L_dr is L_reg itself
            info.update(beta_dr=beta_reg, selected="region")
            return L_reg, reg_degenerate, info
        L_dr, dr_degenerate = self.finish(bd * L_den + br * L_reg if bd + br > 0 else L_den + L_reg)
        beta_dr = float(self.scores(self.masked(L_dr[None]))[0] - s[0])
        fused = beta_dr > beta_reg
        info.update(beta_dr=beta_dr, selected="fused" if fused else "region")
        return (L_dr, dr_degenerate, info) if fused else (L_reg, reg_degenerate, info)

    # ---- metrics (probabilities, METHODS "Evaluation metrics") ------------------------------
    def metrics(self, L, mask):
        H, W = self.size
        y = float(self.scores(self.x[None], "prob")[0])
        o = float(self.scores(self.masked(L[None]), "prob")[0])
        step = 2 * W
        n = math.ceil(H * W / step)
        order = np.argsort(-L.flatten().numpy(), kind="stable")  # ties: increasing index

        def curve(start, source):
            images = []
            for i in range(n + 1):
                img = start.clone().reshape(3, -1)
                idx = torch.from_numpy(order[:i * step].copy())
                img[:, idx] = source.reshape(3, -1)[:, idx]
                images.append(img.reshape(3, H, W))
            s = self.scores(torch.stack(images), "prob")
            return s, float((s.sum() - s[0] / 2 - s[n] / 2) / n * 100)

        del_curve, deletion = curve(self.x, self.baseline())
        ins_curve, insertion = curve(self.blurred, self.x)
        flat = L.flatten()
        pointing = float(mask.flatten()[int(np.argmax(flat.numpy()))] != 0)
        total = float(flat.sum())
        energy = float((flat * mask.flatten()).sum()) / total if total > 0 else 0.0
        values = (y, o, 100 * max(0.0, y - o) / y if y > 0 else 0.0, float(y < o), insertion, deletion, pointing, energy)
        return values, ins_curve, del_curve


def explain_all(ex):
    out = {}
    for name in METHODS:
        r = getattr(ex, name)()
        out[name] = (r[0].float(), r[1], r[2] if len(r) > 2 else None)
    return out


def synthetic_mask(size):
    H, W = size
    m = torch.zeros(H, W)
    m[H // 4:H * 5 // 8, W // 8:W * 9 // 16] = 1
    return m


def write(path, a, ex, results, mask):
    f = vc.atomic_h5(path)
    z = dict(compression="gzip", shuffle=True)
    f.create_dataset("image", data=ex.image.float().numpy(), **z)
    f.create_dataset("input", data=ex.x.float().numpy(), **z)
    f.create_dataset("logits", data=ex.logits.float().numpy())
    f.create_dataset("mask", data=mask.numpy().astype(np.float32), **z)
    for k, v in (("weights", os.path.basename(a.weights)), ("edits", ";".join(a.edit)),
                 ("layer", ex.layer), ("region", a.region), ("score", a.score),
                 ("mask_space", a.mask_space), ("image_source", a.image),
                 ("metric_names", ",".join(METRIC_NAMES)), ("precision", a.precision)):
        f.attrs[k] = v
    for k, v in (("theta", a.theta), ("groups", a.groups), ("target_class", a.cls),
                 ("class", ex.c), ("channels", len(ex.A)),
                 ("constant_channels", ex.constant_channels())):
        f.attrs[k] = np.float64(v) if k == "theta" else np.int64(v)
    for name, (L, degenerate, info) in results.items():
        g = f.create_group(name)
        g.create_dataset("map", data=L.numpy(), **z)
        values, ins, dele = ex.metrics(L.to(ex.x.dtype), mask.to(ex.x.dtype))
        g.create_dataset("metrics", data=np.asarray(values, dtype=np.float64))
        g.create_dataset("insertion_curve", data=ins.double().numpy())
        g.create_dataset("deletion_curve", data=dele.double().numpy())
        g.attrs["degenerate"] = np.int64(degenerate)
        for k, v in (info or {}).items():
            g.attrs[k] = v if isinstance(v, str) else np.float64(v)
    vc.finish_h5(f, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("weights")
    p.add_argument("out")
    p.add_argument("--image", required=True, help="image file or random:SEED")
    p.add_argument("--class", dest="cls", type=int, default=-1, help="target class (default top-1)")
    p.add_argument("--layer", default="", help="features.N (default: ReLU after the last conv)")
    p.add_argument("--theta", type=float, default=10.0)
    p.add_argument("--groups", type=int, default=32)
    p.add_argument("--region", default="scorecam", choices=["scorecam", "groupcam"])
    p.add_argument("--score", default="prob", choices=["prob", "logit"])
    p.add_argument("--mask-space", default="normalized", choices=["normalized", "pixel"])
    p.add_argument("--edit", action="append", default=[], help="weights edit, e.g. features.16.bias[:]=-1000")
    p.add_argument("--float64", action="store_true")
    p.add_argument("--require", choices=["fused", "region"], help="search until UnionCAM selects this")
    p.add_argument("--search", type=int, default=50, help="image seeds to try with --require")
    a = p.parse_args()
    a.precision = "float64" if a.float64 else "float32"

    torch.use_deterministic_algorithms(True)
    dtype = torch.float64 if a.float64 else torch.float32
    model, size, mean, std = load_model(a.weights, a.edit, dtype)
    candidates = [(a.image, a.cls)]
    if a.require:
        seed = int(a.image[7:]) if a.image.startswith("random:") else 0
        classes = model.classifier[-1].out_features
        candidates = [(f"random:{s}", c) for s in range(seed, seed + a.search)
                      for c in ([a.cls] if a.cls >= 0 else [-1] + list(range(classes)))]
    for image, cls in candidates:
        a.image, a.cls = image, cls
        ex = Explainer(model, load_image(image, size), mean, std, a)
        results = explain_all(ex)
        if not a.require or results["unioncam"][2]["selected"] == a.require:
            break
    else:
        raise SystemExit(f"no image/class among {len(candidates)} makes UnionCAM select {a.require}")
    write(a.out, a, ex, results, synthetic_mask(size))
    u = results["unioncam"][2]
    print(f"{a.out}: {a.image} class {ex.c} layer {ex.layer} ({len(ex.A)} channels, "
          f"{ex.constant_channels()} constant); unioncam {u['selected']} beta_den {u['beta_den']:.4g} "
          f"beta_reg {u['beta_reg']:.4g} beta_dr {u['beta_dr']:.4g}; degenerate "
          + ",".join(m for m in METHODS if results[m][1]))


if __name__ == "__main__":
    main()
