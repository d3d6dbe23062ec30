#!/usr/bin/env python3
"""PyTorch side of `make bench`: torchvision VGG16 (random weights, seed 0) forward latency at
batch 1, throughput at batch 32 and, with --gradcam, Grad-CAM's forward + backward to
features.29. Prints one JSON line.

    /usr/bin/python3 tools/bench_pytorch.py [--threads N] [--device cuda [--tf32]] [--gradcam]

Without --tf32 the GPU runs in strict fp32 (cuDNN and cuBLAS TF32 off), matching unioncam's
fp32 mode; --tf32 turns both on, matching its tf32 mode. Batch 32 on a CPU takes seconds per
forward, so it is timed over two runs (--runs32) with no warm-up of its own.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torchvision


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


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="CPU threads (default: all cores)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--tf32", action="store_true", help="allow TF32 in cuDNN and cuBLAS (GPU only)")
    p.add_argument("--gradcam", action="store_true", help="also time forward + backward to features.29")
    p.add_argument("--runs", type=int, default=5, help="timed runs at batch 1 (default 5)")
    p.add_argument("--runs32", type=int, default=2, help="timed runs at batch 32 (default 2)")
    p.add_argument("--size", type=int, default=224, help="input height and width (default 224)")
    args = p.parse_args()

    if args.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: this PyTorch build sees no CUDA device")
    if args.tf32 and args.device != "cuda":
        p.error("--tf32 needs --device cuda")
    torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    # unioncam picks cuDNN algorithms once per shape; benchmark mode is PyTorch's equivalent.
    torch.backends.cudnn.benchmark = True
    device = torch.device(args.device)

    torch.manual_seed(0)
    model = torchvision.models.vgg16(weights=None).eval().to(device)
    model.requires_grad_(False)
    x1 = torch.rand(1, 3, args.size, args.size, device=device)
    x32 = torch.rand(32, 3, args.size, args.size, device=device)

    result = {
        "torch_version": torch.__version__,
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "tf32": args.tf32,
    }
    with torch.no_grad():
        result["batch1_ms"] = round(timed(lambda: model(x1), device, args.runs, warmup=2), 3)
        # Batch 1 already warmed the weights and kernels; a batch-32 warm-up would cost seconds.
        ms32 = timed(lambda: model(x32), device, args.runs32, warmup=0)
        result["batch32_img_s"] = round(32 * 1e3 / ms32, 3)

    result["fwd_bwd_ms"] = None
    if args.gradcam:
        trunk, head = model.features[:30], model.features[30:]  # features.29: the last ReLU

        def gradcam_step():
            # Gradients are needed only from the score back to features.29's output.
            with torch.no_grad():
                act = trunk(x1)
            act.requires_grad_(True)
            logits = model.classifier(torch.flatten(model.avgpool(head(act)), 1))
            logits[0, logits[0].argmax()].backward()
            return act.grad

        result["fwd_bwd_ms"] = round(timed(gradcam_step, device, args.runs, warmup=2), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
