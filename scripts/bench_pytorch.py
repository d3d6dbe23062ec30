#!/usr/bin/env python3
"""PyTorch side of `make bench`: torchvision VGG16 (random weights, seed 0) forward latency at
batch 1, throughput at batch 32 and, with --gradcam, Grad-CAM's forward + backward to
features.29. Prints one JSON line.

    /usr/bin/python3 scripts/bench_pytorch.py [--threads N] [--device cuda [--tf32|--bf16]] [--gradcam]
    /usr/bin/python3 scripts/bench_pytorch.py --methods all|gradcam,unioncam,... [--device ...]

With --methods it times CAM methods instead, written here in batched eager PyTorch (masked
inputs forwarded 32 at a time, as `unioncam explain` does): for each method, forward + backward
to features.29 and the explanation of one random image, the median of --runs (default 3 on
cuda, 1 on cpu) after --warmup untimed runs, and on cuda the peak of
torch.cuda.max_memory_allocated() over the timed runs. The JSON mirrors `unioncam bench
--methods --json`. Definitions: /work/shared/METHODS.md and scripts/cam_reference.py.

Without --tf32 the GPU runs in strict fp32 (cuDNN and cuBLAS TF32 off), matching unioncam's
fp32 mode; --tf32 turns both on, matching its tf32 mode. --bf16 matches its bf16 mode: TF32 on,
the model channels-last, and forwards without gradients (the latency, the throughput and the
CAM methods' masked forwards, the layers before features.29) under torch.autocast to bfloat16;
autocast also runs the classifier in bfloat16, where unioncam keeps it in fp32 (TF32 products).
Batch 32 on a CPU takes seconds per forward, so it is timed over two runs (--runs32) with no
warm-up of its own.
"""
import argparse
import contextlib
import json
import os
import statistics
import time

import torch
import torchvision


BF16 = False  # --bf16: forwards without gradients run under autocast to bfloat16


def inference_precision():
    return torch.autocast("cuda", dtype=torch.bfloat16) if BF16 else contextlib.nullcontext()


def timed(fn, device, runs, warmup):
    """Median wall time of fn() in milliseconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


CAM_METHODS = ("gradcam", "gradcampp", "scorecam", "groupcam", "unioncam")
CAM_BATCH = 32


def norm_maps(U):
    """norm() of each [H,W] map of U [M,H,W]; a constant map becomes zeros."""
    lo = U.amin((1, 2), keepdim=True)
    span = U.amax((1, 2), keepdim=True) - lo
    return torch.where(span > 0, (U - lo) / torch.where(span > 0, span, torch.ones_like(span)),
                       torch.zeros_like(U))


def up(maps, size):
    return torch.nn.functional.interpolate(maps[None], size=size, mode="bilinear", align_corners=False)[0]


def gaussian_blur(x, ksize=51, sigma=50.0):
    """Group-CAM's blur of a [3,H,W] image: separable Gaussian, reflect borders."""
    r = ksize // 2
    t = torch.arange(ksize, dtype=torch.float64, device=x.device) - r
    k = torch.exp(-t * t / (2 * sigma * sigma))
    k = (k / k.sum()).to(x.dtype)
    y = torch.nn.functional.pad(x[None], (r, r, r, r), mode="reflect")
    y = torch.nn.functional.conv2d(y, k.view(1, 1, 1, ksize).repeat(3, 1, 1, 1), groups=3)
    return torch.nn.functional.conv2d(y, k.view(1, 1, ksize, 1).repeat(3, 1, 1, 1), groups=3)[0]


class BatchedCams:
    """One image's forward + backward to features.29, then each method on it (probability scores,
    masks in normalized-input space, theta 10, 32 groups, UnionCAM's region map from Score-CAM)."""

    def __init__(self, model, x):
        self.model, self.x = model, x
        self.size = tuple(x.shape[1:])
        self.trunk, self.head = model.features[:30], model.features[30:]
        with torch.no_grad(), inference_precision():  # as unioncam: the layers before the target in bf16
            act = self.trunk(x[None]).float()
        act.requires_grad_(True)
        logits = model.classifier(torch.flatten(model.avgpool(self.head(act)), 1))
        self.c = int(logits[0].argmax())
        logits[0, self.c].backward()
        self.A, self.G = act[0].detach(), act.grad[0]
        self.live = None

    def scores(self, images):
        """p_c of a stack of normalized images, CAM_BATCH at a time."""
        with torch.no_grad(), inference_precision():
            return torch.cat([torch.softmax(self.model(images[b:b + CAM_BATCH]).float(), 1)[:, self.c]
                              for b in range(0, len(images), CAM_BATCH)])

    def masked_scores(self, M):
        """p_c(M_i ⊙ x) for masks M [m,H,W], building the masked inputs one batch at a time."""
        with torch.no_grad():
            return torch.cat([self.scores(M[b:b + CAM_BATCH, None] * self.x[None])
                              for b in range(0, len(M), CAM_BATCH)])

    def weighted(self, w, A):
        return norm_maps(torch.relu((w[:, None, None] * A).sum(0, keepdim=True)))[0]

    def gradcam(self):
        return norm_maps(up(torch.relu((self.G.mean((1, 2))[:, None, None] * self.A).sum(0))[None], self.size))[0]

    def gradcampp(self):
        g2, g3 = self.G ** 2, self.G ** 3
        sum_a = self.A.sum((1, 2))[:, None, None]
        aij = torch.where(self.G != 0, g2 / (2 * g2 + sum_a * g3 + 1e-6), torch.zeros_like(g2))
        w = (torch.relu(self.G) * aij).sum((1, 2))
        return norm_maps(up(torch.relu((w[:, None, None] * self.A).sum(0))[None], self.size))[0]

    def scorecam(self):
        U = up(self.A, self.size)
        live = torch.nonzero(U.amax((1, 2)) != U.amin((1, 2)))[:, 0]  # constant: never forwarded
        self.live = len(live)
        s = torch.zeros(len(U), dtype=U.dtype, device=U.device)
        if len(live):
            s[live] = self.masked_scores(norm_maps(U[live]))
        return self.weighted(s, U)

    def groupcam(self):
        wA = self.G.mean((1, 2))[:, None, None] * self.A
        U = up(torch.relu(wA.reshape(32, -1, *wA.shape[1:]).sum(1)), self.size)
        M = norm_maps(U)[:, None]
        blurred = gaussian_blur(self.x)
        s = self.scores(torch.cat([blurred[None], M * self.x[None] + (1 - M) * blurred[None]]))
        return self.weighted(torch.relu(s[1:] - s[0]), U)

    def unioncam(self):
        K = len(self.G)
        flat = self.G.reshape(K, -1)
        t = torch.quantile(flat, 0.1, dim=1, interpolation="linear")
        Ghat = torch.relu(torch.where(flat >= t[:, None], flat, torch.zeros_like(flat)))
        total = Ghat.sum(1, keepdim=True)
        P = torch.where(total > 0, Ghat / torch.where(total > 0, total, torch.ones_like(total)), torch.zeros_like(Ghat))
        L_den = norm_maps(up(torch.relu((P.reshape(self.G.shape) * self.A).sum(0))[None], self.size))[0]
        L_reg = self.scorecam()
        s = self.masked_scores(torch.stack([torch.zeros_like(L_den), L_den, L_reg]))
        bd, br = float(torch.relu(s[1] - s[0])), float(torch.relu(s[2] - s[0]))
        if bd == 0 and br > 0:
            return L_reg
        L_dr = norm_maps((bd * L_den + br * L_reg if bd + br > 0 else L_den + L_reg)[None])[0]
        beta_dr = float(self.masked_scores(L_dr[None])[0] - s[0])
        return L_dr if beta_dr > float(s[2] - s[0]) else L_reg


def bench_cams(args, model, device):
    """Per method: median ms of (forward + backward + explanation) and, on cuda, peak bytes."""
    methods = CAM_METHODS if args.methods == "all" else args.methods.split(",")
    for m in methods:
        if m not in CAM_METHODS:
            raise SystemExit(f"--methods: unknown method {m!r} (choices: all, {', '.join(CAM_METHODS)})")
    runs = args.runs or (3 if device.type == "cuda" else 1)
    g = torch.Generator().manual_seed(0)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    x = ((torch.rand(3, args.size, args.size, generator=g) - mean) / std).to(device)
    result = {"runtime": "pytorch", "torch_version": torch.__version__,
              "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
              "threads": torch.get_num_threads(),
              "precision": "bf16" if args.bf16 else "tf32" if args.tf32 else "fp32",
              "input": args.size, "batch": CAM_BATCH, "runs": runs, "methods": {}}
    for m in methods:
        out = {}

        def once():
            cams = BatchedCams(model, x)
            getattr(cams, m)()
            out["live"] = cams.live

        for _ in range(args.warmup):
            once()
        if device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats(device)
        entry = {"ms": round(timed(once, device, runs, warmup=0), 3),
                 "peak_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None}
        if out["live"] is not None:
            entry["live_channels"] = out["live"]
        result["methods"][m] = entry
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (default: all cores)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--tf32", action="store_true", help="allow TF32 in cuDNN and cuBLAS (GPU only)")
    p.add_argument("--bf16", action="store_true",
                   help="TF32, channels-last, and forwards without gradients in bfloat16 autocast (GPU only)")
    p.add_argument("--gradcam", action="store_true", help="also time forward + backward to features.29")
    p.add_argument("--runs", type=int, help="timed runs at batch 1 (default 5; with --methods 3 on cuda, 1 on cpu)")
    p.add_argument("--methods", help="time these CAM methods instead: all or a comma-separated list")
    p.add_argument("--warmup", type=int, default=1, help="untimed runs per CAM method (default 1)")
    p.add_argument("--runs32", type=int, default=2, help="timed runs at batch 32 (default 2)")
    p.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    args = p.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: this PyTorch build sees no CUDA device")
    if (args.tf32 or args.bf16) and args.device != "cuda":
        p.error("--tf32 and --bf16 need --device cuda")
    global BF16
    BF16 = args.bf16
    args.tf32 = args.tf32 or args.bf16
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    # unioncam picks cuDNN algorithms once per shape; benchmark mode is PyTorch's equivalent.
    torch.backends.cudnn.benchmark = True
    device = torch.device(args.device)

    torch.manual_seed(0)
    model = torchvision.models.vgg16(weights=None).eval().to(device)
    if args.bf16:
        model = model.to(memory_format=torch.channels_last)
    model.requires_grad_(False)
    if args.methods:
        bench_cams(args, model, device)
        return
    args.runs = args.runs or 5
    x1 = torch.rand(1, 3, args.size, args.size, device=device)
    x32 = torch.rand(32, 3, args.size, args.size, device=device)

    result = {
        "torch_version": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "tf32": args.tf32,
        "bf16": args.bf16,
    }
    with torch.no_grad(), inference_precision():
        result["batch1_ms"] = round(timed(lambda: model(x1), device, args.runs, warmup=2), 3)
        # On a CPU batch 1 already warmed the weights and kernels and a batch-32 warm-up would cost
        # seconds; on cuda the first batch-32 call autotunes cuDNN (benchmark mode) and must not count.
        ms32 = timed(lambda: model(x32), device, args.runs32, warmup=1 if device.type == "cuda" else 0)
        result["batch32_img_s"] = round(32 * 1e3 / ms32, 3)

    result["fwd_bwd_ms"] = None
    if args.gradcam:
        trunk, head = model.features[:30], model.features[30:]  # features.29: the last ReLU

        def gradcam_step():
            # Gradients are needed only from the score back to features.29's output.
            with torch.no_grad(), inference_precision():
                act = trunk(x1).float()
            act.requires_grad_(True)
            logits = model.classifier(torch.flatten(model.avgpool(head(act)), 1))
            logits[0, logits[0].argmax()].backward()
            return act.grad

        result["fwd_bwd_ms"] = round(timed(gradcam_step, device, args.runs, warmup=2), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
