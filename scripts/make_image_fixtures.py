#!/usr/bin/env python3
"""Writes the committed test and demo images under tests/fixtures/images/, deterministically.

Demo images (8-bit RGB): simple shapes on gradients with a little seeded noise.
16-bit PNGs (png16/, kept out of the demo's *.png glob): tiny images whose values are not
multiples of 257, so only a loader that keeps 16 bits reproduces them; tests/test_image.cpp
holds the same values. stb cannot write 16-bit PNGs, hence the small PNG writer here.

    /usr/bin/python3 scripts/make_image_fixtures.py
"""
import pathlib
import struct
import zlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "images"

RGB16 = np.array([[[0, 1, 65535], [257, 12345, 40000], [65534, 32768, 2]],
                  [[100, 200, 300], [54321, 11111, 22222], [65535, 0, 777]]], dtype=np.uint16)
GRAY_ALPHA16 = np.array([[[3, 65535], [30000, 0]],
                         [[65535, 1234], [4242, 50000]]], dtype=np.uint16)


def png_bytes(pixels):
    """PNG for an HxWxC uint8/uint16 array, C = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA."""
    h, w, c = pixels.shape
    depth = 16 if pixels.dtype == np.uint16 else 8
    color_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    raw = pixels.astype(">u2" if depth == 16 else "u1")
    scanlines = b"".join(b"\x00" + raw[y].tobytes() for y in range(h))  # filter type 0

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(scanlines, 9))
            + chunk(b"IEND", b""))


def scene(width, height, seed):
    """Gradient background, a disc and a rectangle, plus low-amplitude noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([x / (width - 1), y / (height - 1), 1 - x / (width - 1)], axis=-1) * 0.6 + 0.2
    cx, cy, r = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height, 0.25 * min(width, height)
    img[(x - cx) ** 2 + (y - cy) ** 2 < r * r] = rng.uniform(0, 1, 3)
    x0, y0 = int(rng.integers(0, width // 2)), int(rng.integers(0, height // 2))
    img[y0:y0 + height // 4, x0:x0 + width // 3] = rng.uniform(0, 1, 3)
    img += rng.normal(0, 0.02, img.shape)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def main():
    files = {
        "shapes_64.png": scene(64, 64, seed=1),
        "shapes_64b.png": scene(64, 64, seed=2),
        "shapes_100x80.png": scene(100, 80, seed=3),  # 100 wide, 80 high
        "png16/rgb16_3x2.png": RGB16,
        "png16/gray_alpha16_2x2.png": GRAY_ALPHA16,
    }
    for name, pixels in files.items():
        path = OUT / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(png_bytes(pixels))
        print(f"{path.relative_to(OUT.parent.parent.parent)}: {pixels.shape} {pixels.dtype}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
