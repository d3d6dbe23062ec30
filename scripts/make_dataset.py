#!/usr/bin/python3
"""Synthetic "Fashion-MNIST on photographs" data set for the demo model.

Each 224x224 RGB image shows one (sometimes two, of the same class) Fashion-MNIST items,
enlarged to a random size, tinted with a random colour (the item's grey level is both its
opacity and its shading), on a random crop of a real photograph or texture from skimage.data.
Every image has a mask PNG (255 where the item's opacity > MASK_THRESHOLD) and a row in
labels.csv.

  make_dataset.py --out data/fashion --seed 0 --train 6000 --val 600 --test 1000

Splits share no source item: train and val come from Fashion-MNIST's training set (items
0..53999 -> train, 54000..59999 -> val), test from the t10k set. Deterministic from --seed.
Reads the IDX files of Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist).
"""
import argparse
import csv
import gzip
import os
import time

import numpy as np
from PIL import Image

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Ankle boot"]
SIZE = 224
MASK_THRESHOLD = 0.25
TWO_ITEMS_P = 0.2
SCALE_RANGE = (90, 180)
TRAIN_VAL_CUT = 54000
BACKGROUNDS = ["astronaut", "coffee", "chelsea", "rocket", "brick", "grass", "gravel", "camera",
               "moon", "coins", "horse", "page", "text", "cell", "colorwheel", "logo",
               "immunohistochemistry", "hubble_deep_field", "retina", "motorcycle_left"]
FMNIST_DIRS = ["/usr/share/datasets/fashion-mnist", "/usr/share/fashion-mnist"]


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find_file(stem):
    for d in FMNIST_DIRS:
        for name in (stem, stem + ".gz"):
            p = os.path.join(d, name)
            if os.path.exists(p):
                return p
    raise SystemExit(f"{stem}: not found in {FMNIST_DIRS} (apt install dataset-fashion-mnist)")


def load_fmnist(kind):
    return read_idx(find_file(f"{kind}-images-idx3-ubyte")), read_idx(find_file(f"{kind}-labels-idx1-ubyte"))


def load_backgrounds():
    import skimage.data
    out = []
    for name in BACKGROUNDS:
        fn = getattr(skimage.data, name, None)
        if fn is None:
            continue
        try:
            img = np.asarray(fn())
        except Exception:  # a sample that needs a download (pooch) is skipped: offline only
            continue
        if img.dtype == bool:
            img = img.astype(np.uint8) * 255
        if img.dtype != np.uint8:
            img = np.clip(img.astype(np.float64) / max(1e-9, img.max()) * 255, 0, 255).astype(np.uint8)
        if img.ndim == 2:
            img = np.repeat(img[:, :, None], 3, axis=2)
        img = img[:, :, :3]
        if min(img.shape[:2]) >= 64:
            out.append(Image.fromarray(np.ascontiguousarray(img)))
    if not out:
        raise SystemExit("no skimage.data sample images (apt install python3-skimage)")
    return out


def background(rng, bgs):
    img = bgs[rng.integers(len(bgs))]
    w, h = img.size
    side = int(rng.integers(max(32, min(w, h) // 4), min(w, h) + 1))
    x, y = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    crop = img.resize((SIZE, SIZE), Image.BILINEAR, box=(x, y, x + side, y + side))
    a = np.asarray(crop, np.float32) / 255
    if rng.random() < 0.5:
        a = a[:, ::-1]
    return a


def paste(rng, canvas, alpha_total, item, side):
    """Composites one item (28x28 uint8) of `side` pixels at a random place; returns its alpha."""
    g = np.asarray(Image.fromarray(item).resize((side, side), Image.BILINEAR), np.float32) / 255
    if rng.random() < 0.5:
        g = g[:, ::-1]
    alpha = np.clip(g * 1.6, 0, 1)[:, :, None]
    colour = rng.uniform(0.0, 1.0, 3).astype(np.float32)
    shade = colour * (0.35 + 0.65 * g[:, :, None])
    y, x = int(rng.integers(0, SIZE - side + 1)), int(rng.integers(0, SIZE - side + 1))
    region = canvas[y:y + side, x:x + side]
    canvas[y:y + side, x:x + side] = region * (1 - alpha) + shade * alpha
    alpha_total[y:y + side, x:x + side] = np.maximum(alpha_total[y:y + side, x:x + side], alpha[:, :, 0])


def make_split(out, name, count, images, labels, pool, seed, split_id, bgs):
    rng = np.random.default_rng([seed, split_id])
    os.makedirs(os.path.join(out, name, "images"), exist_ok=True)
    os.makedirs(os.path.join(out, name, "masks"), exist_ok=True)
    by_class = [pool[labels[pool] == c] for c in range(len(CLASSES))]
    rows = []
    for i in range(count):
        cls = int(rng.integers(len(CLASSES)))
        n_items = 2 if rng.random() < TWO_ITEMS_P else 1
        srcs = rng.choice(by_class[cls], n_items, replace=False)
        canvas = background(rng, bgs).copy()
        alpha = np.zeros((SIZE, SIZE), np.float32)
        for s in srcs:
            lo, hi = SCALE_RANGE
            if n_items == 2:
                hi = (lo + hi) // 2 + 10
            paste(rng, canvas, alpha, images[s], int(rng.integers(lo, hi + 1)))
        fname = f"{i:05d}_{cls}.png"
        rgb = (np.clip(canvas, 0, 1) * 255 + 0.5).astype(np.uint8)
        Image.fromarray(rgb).save(os.path.join(out, name, "images", fname), compress_level=1)
        Image.fromarray(((alpha > MASK_THRESHOLD) * 255).astype(np.uint8)).save(
            os.path.join(out, name, "masks", fname), compress_level=1)
        rows.append((fname, cls, CLASSES[cls], n_items, " ".join(str(int(s)) for s in srcs)))
    with open(os.path.join(out, name, "labels.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file", "class", "class_name", "items", "source_indices"])
        w.writerows(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train", type=int, default=6000)
    p.add_argument("--val", type=int, default=600)
    p.add_argument("--test", type=int, default=1000)
    a = p.parse_args()
    t0 = time.time()
    tr_img, tr_lab = load_fmnist("train")
    te_img, te_lab = load_fmnist("t10k")
    bgs = load_backgrounds()
    idx = np.arange(len(tr_lab))
    splits = [("train", a.train, tr_img, tr_lab, idx[:TRAIN_VAL_CUT]),
              ("val", a.val, tr_img, tr_lab, idx[TRAIN_VAL_CUT:]),
              ("test", a.test, te_img, te_lab, np.arange(len(te_lab)))]
    with open(os.path.join(a.out, "classes.txt") if os.makedirs(a.out, exist_ok=True) is None else "", "w") as f:
        f.write("\n".join(CLASSES) + "\n")
    total = 0
    for split_id, (name, n, im, lab, pool) in enumerate(splits):
        if n == 0:  # e.g. --train 0 --val 0: only the test split (make benchmark-quality)
            continue
        make_split(a.out, name, n, im, lab, pool, a.seed, split_id, bgs)
        total += n
    dt = time.time() - t0
    print(f"{a.out}: {total} images ({len(bgs)} backgrounds) in {dt:.1f} s, "
          f"{1000 * dt / max(1, total):.1f} ms/image")


if __name__ == "__main__":
    main()
