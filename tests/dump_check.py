#!/usr/bin/env python3
"""Recomputes every map of an `explain --dump` file from its own intermediates with numpy alone
(the formulas of METHODS.md) and checks the dump's names, shapes and attributes.

    dump_check.py DUMP.h5 [--masks]

Exits non-zero naming the first image, method and quantity that disagrees (within 1e-5, relative
to the value where it exceeds 1).
"""
import sys

import h5py
import numpy as np

TOL = 1e-5


def up(maps, H, W):
    """Bilinear upsampling with half-pixel centres (align_corners=False), each of K maps."""
    K, h, w = maps.shape

    def taps(n_in, n_out):
        s = np.maximum((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = np.minimum(s.astype(int), n_in - 1)
        return i0, np.minimum(i0 + 1, n_in - 1), (s - i0)

    y0, y1, wy = taps(h, H)
    x0, x1, wx = taps(w, W)
    rows = maps[:, y0, :] * (1 - wy)[None, :, None] + maps[:, y1, :] * wy[None, :, None]
    return rows[:, :, x0] * (1 - wx)[None, None, :] + rows[:, :, x1] * wx[None, None, :]


def norm(L):
    lo, hi = L.min(), L.max()
    return np.zeros_like(L) if hi == lo else (L - lo) / (hi - lo)


def close(name, got, want):
    """Within TOL absolutely, or relatively to the value (weights and alphas are not in [0,1])."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    err = float((np.abs(got - want) / np.maximum(1.0, np.abs(want))).max())
    if not err <= TOL:
        raise AssertionError(f"{name}: differs by {err:.3g} (tolerance {TOL})")


def check_image(g, attrs, masks):
    A = g["activations"][()].astype(np.float64)
    G = g["gradients"][()].astype(np.float64)
    K, h, w = A.shape
    _, H, W = g["input"].shape
    assert g["logits"].ndim == 1 and 0 <= g.attrs["class"] < g["logits"].shape[0]
    for key in ("path", "class_name", "prob"):
        assert key in g.attrs, key
    done = []
    if "gradcam" in g:
        wk = G.reshape(K, -1).mean(1)
        close("gradcam/weights", g["gradcam/weights"][()], wk)
        close("gradcam/map", g["gradcam/map"][()],
              norm(up(np.maximum((wk[:, None, None] * A).sum(0), 0)[None], H, W)[0]))
        done.append("gradcam")
    if "gradcampp" in g:
        s = A.reshape(K, -1).sum(1)[:, None, None]
        denom = 2 * G**2 + s * G**3 + 1e-6
        a = np.where(G != 0, G**2 / denom, 0.0)
        wk = (np.maximum(G, 0) * a).reshape(K, -1).sum(1)
        close("gradcampp/weights", g["gradcampp/weights"][()], wk)
        close("gradcampp/map", g["gradcampp/map"][()],
              norm(up(np.maximum((wk[:, None, None] * A).sum(0), 0)[None], H, W)[0]))
        done.append("gradcampp")
    U = up(A, H, W)
    if "scorecam" in g:
        live = [k for k in range(K) if U[k].max() != U[k].min()]
        assert list(g["scorecam/channels"][()]) == live, "scorecam/channels: not the live ones"
        assert g["scorecam/channels"].dtype == np.int32
        s = g["scorecam/scores"][()].astype(np.float64)
        assert np.isnan(s[[k for k in range(K) if k not in live]]).all(), "skipped: not NaN"
        sk = np.nan_to_num(s)
        if "map" in g["scorecam"]:
            close("scorecam/map", g["scorecam/map"][()],
                  norm(np.maximum((sk[:, None, None] * U).sum(0), 0)))
        if masks:
            close("scorecam/masks", g["scorecam/masks"][()], np.stack([norm(U[k]) for k in live]))
        done.append("scorecam")
    if "groupcam" in g:
        wk = G.reshape(K, -1).mean(1)
        # torch.chunk into the groups option's count: ceil(K / groups) channels each.
        per = -(-K // int(attrs["groups"]))
        S = np.stack([np.maximum((wk[k0:k0 + per, None, None] * A[k0:k0 + per]).sum(0), 0)
                      for k0 in range(0, K, per)])
        assert S.shape[0] == g["groupcam/scores"].shape[0], "groupcam/scores: group count"
        Ug = up(S, H, W)
        score = g["groupcam/scores"][()].astype(np.float64)
        assert (score >= 0).all(), "groupcam/scores: ReLU'd differences must be >= 0"
        assert g["groupcam/blurred_score"].shape == ()
        if "map" in g["groupcam"]:
            close("groupcam/map", g["groupcam/map"][()], norm((score[:, None, None] * Ug).sum(0)))
        if masks:
            close("groupcam/masks", g["groupcam/masks"][()], np.stack([norm(u) for u in Ug]))
        done.append("groupcam")
    if "unioncam" in g:
        u = g["unioncam"]
        theta = float(attrs["theta"])
        Gk = G.reshape(K, -1)
        t = np.percentile(Gk, theta, axis=1)
        close("unioncam/threshold", u["threshold"][()], t)
        relu_hat = np.where((Gk >= t[:, None]) & (Gk > 0), Gk, 0.0)
        sums = relu_hat.sum(1)
        alpha = np.where(sums > 0, 1 / np.where(sums > 0, sums, 1), 0.0)
        close("unioncam/alpha", u["alpha"][()], alpha)
        den = np.maximum((alpha[:, None] * relu_hat * A.reshape(K, -1)).sum(0), 0).reshape(h, w)
        close("unioncam/L_den", u["L_den"][()], norm(up(den[None], H, W)[0]))
        region = attrs["region"]
        reg_name = "scorecam/map" if region == "scorecam" else "groupcam/map"
        if reg_name in g:
            close("unioncam/L_reg", u["L_reg"][()], g[reg_name][()])
        bd, br, bdr = (float(u.attrs[k]) for k in ("beta_den", "beta_reg", "beta_dr"))
        pd, pr = max(bd, 0.0), max(br, 0.0)
        L_den, L_reg = u["L_den"][()].astype(np.float64), u["L_reg"][()].astype(np.float64)
        if pd == 0 and pr > 0:
            close("unioncam/L_dr", u["L_dr"][()], L_reg)
            assert bdr == br
        else:
            wd, wr = (pd, pr) if pd + pr > 0 else (1.0, 1.0)
            close("unioncam/L_dr", u["L_dr"][()], norm(wd * L_den + wr * L_reg))
        selected = u.attrs["selected"]
        assert selected == ("fused" if bdr > br else "region"), "unioncam: wrong selection"
        close("unioncam/map", u["map"][()], u["L_dr" if selected == "fused" else "L_reg"][()])
        assert g["baseline_score"].shape == ()
        done.append("unioncam")
    return done


def main():
    path = sys.argv[1]
    masks = "--masks" in sys.argv[2:]
    with h5py.File(path, "r") as f:
        for key in ("unioncam_version", "weights", "layer", "score", "mask_space", "theta",
                    "groups", "region"):
            assert key in f.attrs, f"root attribute {key} missing"
        for name in f:
            try:
                done = check_image(f[name], f.attrs, masks)
            except AssertionError as e:
                sys.exit(f"{path}: image {name}: {e}")
            print(f"{name}: {', '.join(done)} recomputed from the dump")


if __name__ == "__main__":
    main()
