#!/usr/bin/python3
"""Trains the demo model: a narrow VGG16-BN (torchvision config D, per-block widths --widths,
default 8,16,32,64,64; classifier hidden 128, 10 Fashion-MNIST classes) on the data set of
make_dataset.py, time-boxed, and exports with vgg_common the epoch best on val (or with
--select last, the last epoch).
--init-from continues from an exported model, widening it first when --widths are wider.
models/README.md has the commands that made the bundled model.

  train_demo_model.py --data data/fashion --out models/fashion_vgg16bn.h5 --seed 0 --minutes 15 --size 128

--size is the training resolution: the 224x224 images are resized bilinearly with half-pixel
centres (what unioncam does to its inputs) and --size is stored as input_size, so the runtime
resizes its inputs the same way. CPU only (PyTorch, 2 threads).
"""
import argparse
import copy
import csv
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

# vgg_common lives beside the converter it serves (tools/export_vgg.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import vgg_common as vc  # noqa: E402

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
HIDDEN = 128


def load_split(root, split, size, limit=None):
    with open(os.path.join(root, split, "labels.csv")) as f:
        rows = list(csv.DictReader(f))[:limit]
    x = torch.empty(len(rows), 3, size, size, dtype=torch.uint8)
    y = torch.tensor([int(r["class"]) for r in rows])
    for i0 in range(0, len(rows), 256):
        chunk = rows[i0:i0 + 256]
        a = np.stack([np.asarray(Image.open(os.path.join(root, split, "images", r["file"])).convert("RGB"))
                      for r in chunk])
        t = torch.from_numpy(a).permute(0, 3, 1, 2).float()
        if t.shape[-1] != size:
            t = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
        x[i0:i0 + len(chunk)] = t.round().clamp(0, 255).to(torch.uint8)
    return x, y


def channel_stats(x, chunk=4096):
    """Per-channel mean and (unbiased) standard deviation of uint8 images in [0, 1] units, each
    (1, 3, 1, 1), summed in float64 a chunk at a time: a float copy of 120,000 images at 96 px
    would take 13 GB."""
    total, total_sq = torch.zeros(3, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    for i in range(0, len(x), chunk):
        f = x[i:i + chunk].double() / 255
        total += f.sum((0, 2, 3))
        total_sq += (f * f).sum((0, 2, 3))
    n = len(x) * x.shape[2] * x.shape[3]
    mean = total / n
    var = (total_sq - n * mean * mean) / (n - 1)
    return mean.float().view(1, 3, 1, 1), var.sqrt().float().view(1, 3, 1, 1)


def normalise(xb, mean, std):
    return (xb.float() / 255 - mean) / std


def augment(xb, gen):
    """Random horizontal flip and a random shift of up to 1/8 of the side (reflect padding)."""
    n, _, h, w = xb.shape
    flip = torch.rand(n, generator=gen) < 0.5
    xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
    pad = h // 8
    padded = F.pad(xb, (pad, pad, pad, pad), mode="reflect")
    out = torch.empty_like(xb)
    offs = torch.randint(0, 2 * pad + 1, (n, 2), generator=gen)
    for i in range(n):
        dy, dx = int(offs[i, 0]), int(offs[i, 1])
        out[i] = padded[i, :, dy:dy + h, dx:dx + w]
    return out


def widen(state, model, gen, noise=0.01):
    """Net2WiderNet (Chen et al. 2016): loads a narrower model of the same depth into `model`
    without changing its function. Each new channel copies a random old one (its conv filter, bias
    and BatchNorm entry), and every consumer of a copied channel (the next conv, or classifier.0
    through the flatten) divides that input's weights among the copies. A little noise on the
    copies' outgoing weights breaks the symmetry so that they can learn apart."""
    new = model.state_dict()
    out = {k: v.clone() for k, v in state.items()}
    convs = [i for i, m in enumerate(model.features) if isinstance(m, torch.nn.Conv2d)]
    consumers = [f"features.{i}.weight" for i in convs[1:]] + ["classifier.0.weight"]
    for i, consumer in zip(convs, consumers):
        old_c, new_c = state[f"features.{i}.weight"].shape[0], new[f"features.{i}.weight"].shape[0]
        if new_c == old_c:
            continue
        src = torch.cat([torch.arange(old_c), torch.randint(0, old_c, (new_c - old_c,), generator=gen)])
        share = torch.bincount(src, minlength=old_c).float()[src]
        for k in (f"features.{i}.weight", f"features.{i}.bias", f"features.{i + 1}.weight",
                  f"features.{i + 1}.bias", f"features.{i + 1}.running_mean", f"features.{i + 1}.running_var"):
            if k in out:
                out[k] = out[k][src]
        w = out[consumer]
        if consumer.startswith("classifier"):  # flattened C x 7 x 7 inputs
            w = (w.view(w.shape[0], old_c, -1)[:, src] / share[None, :, None]).reshape(w.shape[0], -1)
        else:
            w = w[:, src] / share[None, :, None, None]
        copies = torch.arange(new_c) >= old_c
        w_noise = noise * w.std() * torch.randn(w.shape, generator=gen)
        mask = copies.repeat_interleave(w.shape[1] // new_c) if w.dim() == 2 else copies[None, :, None, None]
        out[consumer] = w + w_noise * mask
    model.load_state_dict(out, strict=True)


def update_ema(ema, model, decay):
    """ema <- decay * ema + (1 - decay) * model, over parameters and floating buffers (BatchNorm's
    running statistics); integer buffers (batch counters) are copied."""
    with torch.no_grad():
        for e, m in zip(ema.state_dict().values(), model.state_dict().values()):
            if e.dtype.is_floating_point:
                e.mul_(decay).add_(m, alpha=1 - decay)
            else:
                e.copy_(m)


def accuracy(model, x, y, mean, std, bs=128):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(y), bs):
            correct += (model(normalise(x[i:i + bs], mean, std)).argmax(1) == y[i:i + bs]).sum().item()
    return correct / max(1, len(y))


def export(path, state, mean, std, size):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # Trained on F.interpolate's plain bilinear resize: unioncam's --preprocess plain.
    vc.write_torchvision_h5(path, state, "vgg16_bn", "float32",  # atomic
                            mean.flatten().tolist(), std.flatten().tolist(), size, CLASSES,
                            preprocess="plain")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--out", default="models/fashion_vgg16bn.h5")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--minutes", type=float, default=15)
    p.add_argument("--size", type=int, default=128, help="training resolution, a multiple of 32 (stored as input_size)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--train-limit", type=int)
    p.add_argument("--extra-train", action="append", default=[], metavar="DIR",
                   help="also train on DIR/train (another make_dataset.py output, e.g. a different --seed); "
                        "repeatable. Val and test stay those of --data")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--widths", default="8,16,32,64,64", help="the five per-block conv widths")
    p.add_argument("--init-from", help="continue from this exported .h5 (same depth; a narrower one is widened "
                                       "without changing its function)")
    p.add_argument("--ema", type=float, default=0.0,
                   help="also keep an exponential moving average of the weights and BatchNorm statistics with "
                        "this decay (e.g. 0.999); each epoch the better of the two on val is the candidate")
    p.add_argument("--select", choices=["best", "last"], default="best",
                   help="export the candidate of the epoch best on val, or of the last epoch (the end of the "
                        "cosine cycle; the 1,000-image val split is too small to choose between close epochs)")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    t0 = time.time()
    parts = [load_split(a.data, "train", a.size, a.train_limit)]
    parts += [load_split(d, "train", a.size) for d in a.extra_train]
    xtr, ytr = torch.cat([x for x, _ in parts]), torch.cat([y for _, y in parts])
    del parts
    xva, yva = load_split(a.data, "val", a.size)
    xte, yte = load_split(a.data, "test", a.size)
    mean, std = channel_stats(xtr)
    print(f"loaded train {len(ytr)} val {len(yva)} test {len(yte)} at {a.size}px in {time.time() - t0:.0f} s; "
          f"mean {mean.flatten().tolist()} std {std.flatten().tolist()}", flush=True)

    widths = [int(w) for w in a.widths.split(",")]
    model = vc.build_model("vgg16_bn", widths, HIDDEN, len(CLASSES), seed=a.seed)
    for m in model.modules():  # plain initial BN (build_model randomises it for tests)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_parameters()
            m.reset_running_stats()
    torch.nn.init.normal_(model.classifier[6].weight, 0, 0.01)  # small initial logits
    for i in (2, 5):  # the hidden layers are narrow (128): lighter dropout than torchvision's 0.5
        model.classifier[i].p = a.dropout
    if a.init_from:
        widen(vc.read_torchvision_h5(a.init_from)[0], model, gen)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    ema = copy.deepcopy(model) if a.ema > 0 else None
    budget = a.minutes * 60
    start = time.time()
    chosen_val, chosen_state, epoch, steps = -1.0, None, 0, 0
    while time.time() - start < budget:
        epoch += 1
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        loss_sum, seen, hits = 0.0, 0, 0
        for i in range(0, len(perm) - a.batch + 1, a.batch):
            frac = min(1.0, (time.time() - start) / budget)
            if frac >= 1.0:
                break
            warm = min(1.0, (steps + 1) / 50)
            for g in opt.param_groups:  # cosine schedule over the time budget
                g["lr"] = a.lr * warm * 0.5 * (1 + math.cos(math.pi * frac))
            idx = perm[i:i + a.batch]
            xb = normalise(augment(xtr[idx].float(), gen), mean, std)
            logits = model(xb)
            loss = F.cross_entropy(logits, ytr[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if ema is not None:
                update_ema(ema, model, a.ema)
            steps += 1
            loss_sum += loss.item() * len(idx)
            hits += (logits.argmax(1) == ytr[idx]).sum().item()
            seen += len(idx)
            if steps % 25 == 0:
                print(f"  step {steps} loss {loss_sum / seen:.3f}", flush=True)
        va = accuracy(model, xva, yva, mean, std)
        va_ema = accuracy(ema, xva, yva, mean, std) if ema is not None else -1.0
        print(f"epoch {epoch} ({seen} images) loss {loss_sum / max(1, seen):.3f} "
              f"train acc {hits / max(1, seen):.4f} val {va:.4f}"
              + (f" ema val {va_ema:.4f}" if ema is not None else "") + f" [{time.time() - start:.0f} s]", flush=True)
        candidate = ema if va_ema > va else model
        if max(va, va_ema) > chosen_val or a.select == "last":
            chosen_val = max(va, va_ema)
            chosen_state = {k: v.detach().clone() for k, v in candidate.state_dict().items()}
            export(a.out + ".best", chosen_state, mean, std, a.size)  # a usable checkpoint if stopped early
    model.load_state_dict(chosen_state)
    te = accuracy(model, xte, yte, mean, std)
    print(f"{a.select} val {chosen_val:.4f}; test {te:.4f} ({len(yte)} images); trained {time.time() - start:.0f} s, "
          f"{epoch} epochs, {steps} steps", flush=True)
    export(a.out, model.state_dict(), mean, std, a.size)
    os.remove(a.out + ".best")
    print(f"{a.out}: {vc.parameter_count(model.state_dict())} parameters, "
          f"{os.path.getsize(a.out) / 1e6:.2f} MB", flush=True)


if __name__ == "__main__":
    main()
