#!/usr/bin/env python3
"""Regenerates the imagehash fixtures in this folder from the reference implementations.

Run from the repository root, once per Pillow version:

    /tmp/refhash/bin/python tests/data/imagehash/make_fixtures.py pillow13
    /tmp/pil11/bin/python   tests/data/imagehash/make_fixtures.py pillow11

with ImageHash 4.3.2, numpy 2.4.6, scipy 1.17.1 and PyWavelets 1.9.0 in both environments and
Pillow 13.0.0 resp. 11.3.0. `pillow13` (re)writes the synthetic images (deterministic, CC0),
synthetic.tsv, hash16.tsv and dct.tsv; `pillow11` writes pillow11.tsv. Hashes are computed the
way tests/data/corpus/REFERENCE.tsv was: Image.open, frame 0, .convert("RGB"), then imagehash with
its defaults except hash_size.
"""
import os
import sys

import imagehash
import numpy as np
import PIL
import scipy.fftpack
from PIL import Image

HERE = "tests/data/imagehash"
DATA = "tests/data"
ALGOS = [("phash", imagehash.phash), ("dhash", imagehash.dhash),
         ("ahash", imagehash.average_hash), ("whash", imagehash.whash)]


def rng(seed):
    return np.random.default_rng(seed)


def noise(seed, h, w, lo=0, hi=256):
    return rng(seed).integers(lo, hi, (h, w, 3))


def grey(a):
    return np.repeat(np.asarray(a)[..., None], 3, axis=2)


def smooth(seed, h, w):
    """A smooth colour field plus a little noise: photo-like gradients with near-ties."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 100 * np.sin(x / 7.0 + 0.3 * c) * np.cos(y / 11.0 - c) for c in range(3)], axis=2)
    return np.clip(base + rng(seed).normal(0, 6, (h, w, 3)), 0, 255)


def synthetic_images():
    """name -> HxWx3 array; every image is generated, none is derived from a photograph."""
    imgs = {}
    imgs["flat_grey_40x30"] = grey(np.full((30, 40), 128))
    imgs["flat_colour_17x23"] = np.broadcast_to(np.array([200, 40, 90]), (23, 17, 3))
    half = noise(1, 48, 32)
    imgs["lr_symmetric_64x48"] = np.concatenate([half, half[:, ::-1]], axis=1)
    half = noise(2, 32, 48)
    imgs["tb_symmetric_48x64"] = np.concatenate([half, half[::-1]], axis=0)
    q = smooth(3, 20, 20)
    top = np.concatenate([q, q[:, ::-1]], axis=1)
    imgs["both_symmetric_40x40"] = np.concatenate([top, top[::-1]], axis=0)
    s = rng(4).integers(0, 256, (32, 32))
    imgs["transpose_symmetric_grey_32x32"] = grey(np.triu(s) + np.triu(s, 1).T)
    imgs["checker_grey_32x32"] = grey(np.indices((32, 32)).sum(0) % 2 * 255)
    imgs["checker3_grey_64x64"] = grey(np.indices((64, 64)).sum(0) % 3 * 100)
    imgs["hgradient_96x32"] = np.broadcast_to((np.arange(96) * 8 // 3)[None, :, None], (32, 96, 3))
    imgs["vgradient_grey_33x70"] = grey(np.broadcast_to((np.arange(70) * 3)[:, None], (70, 33)))
    imgs["tiny_1x1"] = np.array([[[10, 200, 30]]])
    imgs["tiny_2x2"] = noise(5, 2, 2)
    imgs["tiny_3x3"] = noise(6, 3, 3)
    imgs["tiny_1x7"] = noise(7, 7, 1)
    imgs["tiny_7x1"] = noise(8, 1, 7)
    imgs["thin_300x4"] = smooth(9, 4, 300)
    imgs["thin_5x300"] = smooth(10, 300, 5)
    imgs["portrait_40x160"] = smooth(11, 160, 40)
    imgs["portrait_noise_24x120"] = noise(12, 120, 24)
    imgs["landscape_160x40"] = smooth(13, 40, 160)
    imgs["prime_37x53"] = noise(14, 53, 37)
    # Exactly the reduced sizes: no resampling, so ties reach the comparisons unchanged.
    imgs["ties_8x8"] = grey(rng(15).choice([0, 100, 200], (8, 8), p=[0.25, 0.5, 0.25]))
    imgs["ties_9x8"] = grey(rng(16).choice([50, 60], (8, 9)))
    imgs["ties_16x16"] = grey(rng(17).choice([10, 20, 30], (16, 16)))
    imgs["ties_17x16"] = grey(rng(18).choice([0, 255], (16, 17)))
    return {k: np.ascontiguousarray(v).astype(np.uint8) for k, v in imgs.items()}


def lossless_corpus():
    """Corpus files whose pixels the Rust decoder reproduces: the rule of the conformance test."""
    out = []
    for name in sorted(os.listdir(f"{DATA}/corpus")):
        path = f"{DATA}/corpus/{name}"
        if not os.path.isfile(path):
            continue
        data = open(path, "rb").read()
        ext = name.rsplit(".", 1)[-1].lower()
        if ext == "png" and data[24] != 16:
            out.append(f"corpus/{name}")
        elif ext in ("bmp", "gif", "tif", "tiff"):
            out.append(f"corpus/{name}")
        elif ext == "webp" and data[12:16] == b"VP8L":
            out.append(f"corpus/{name}")
    for t in sorted(os.listdir(f"{DATA}/corpus/transformed")):
        for name in sorted(os.listdir(f"{DATA}/corpus/transformed/{t}")):
            if name.endswith(".png"):
                out.append(f"corpus/transformed/{t}/{name}")
    return out


def hash_rows(files):
    rows = []
    for f in files:
        im = Image.open(f"{DATA}/{f}")
        im.seek(0)
        rgb = im.convert("RGB")
        row = [f]
        for size in (8, 16):
            row += [str(fn(rgb, hash_size=size)) for _, fn in ALGOS]
        rows.append(row)
    return rows


def write_tsv(path, rows, note):
    header = ["file"] + [f"{a}{s}" for s in (8, 16) for a, _ in ALGOS]
    with open(path, "w") as out:
        out.write(f"# {note}\n")
        out.write(f"# imagehash {imagehash.__version__}, Pillow {PIL.__version__}, numpy {np.__version__}, "
                  f"scipy {scipy.__version__}; generated by make_fixtures.py\n")
        out.write("\t".join(header) + "\n")
        for r in rows:
            out.write("\t".join(r) + "\n")


def dct_rows():
    """Inputs and scipy's DCT coefficients (f64 bit patterns) for the Rust DCT's unit test."""
    rows = []
    imgs = {}
    for n in (32, 64):
        s = rng(100 + n).integers(0, 256, (n, n))
        half = rng(200 + n).integers(0, 256, (n, n // 2))
        imgs[n] = {
            "random": rng(300 + n).integers(0, 256, (n, n)),
            "lr_symmetric": np.concatenate([half, half[:, ::-1]], axis=1),
            "transpose_symmetric": np.triu(s) + np.triu(s, 1).T,
            "checker": np.indices((n, n)).sum(0) % 2 * 255,
            "gradient": np.add.outer(np.arange(n) * 2, np.arange(n) * 3) % 256,
            "flat": np.full((n, n), 77),
        }
    for n, cases in imgs.items():
        keep = n // 4
        for name, a in cases.items():
            a = a.astype(np.uint8)
            d = scipy.fftpack.dct(scipy.fftpack.dct(a, axis=0), axis=1)[:keep, :keep]
            bits = "".join("%016x" % v for v in d.astype("<f8").view("<u8").ravel())
            rows.append([name, str(n), a.tobytes().hex(), bits])
    return rows


# (w, h, out_w, out_h) crops of corpus/photo_003.png (451x300, top-left corner): the Pillow 13
# pass-order boundary (in_h - out_h vs 2 * (in_w - out_w): -1, 0, +1, +2), up- and down-scaling,
# one direction only, thin and tiny inputs.
RESIZE_CASES = [
    (100, 167, 32, 32), (100, 168, 32, 32), (100, 169, 32, 32), (100, 170, 32, 32),
    (101, 170, 33, 33), (101, 171, 33, 33), (40, 300, 9, 8), (30, 290, 16, 16),
    (451, 300, 64, 64), (300, 150, 17, 16), (20, 10, 32, 32), (3, 3, 8, 8), (1, 1, 9, 8),
    (200, 32, 32, 32), (32, 200, 32, 32), (1, 200, 8, 8), (200, 1, 32, 32), (32, 32, 32, 32),
    (20, 250, 32, 32), (250, 20, 32, 32), (64, 64, 32, 32), (9, 300, 16, 16),
]


def resize_rows(tag):
    src = Image.open(f"{DATA}/corpus/photo_003.png").convert("RGB")
    rows = []
    for w, h, ow, oh in RESIZE_CASES:
        grey = src.crop((0, 0, w, h)).convert("L").resize((ow, oh), Image.LANCZOS)
        rows.append(["corpus/photo_003.png", str(w), str(h), str(ow), str(oh), tag, grey.tobytes().hex()])
    return rows


def write_resize(tag):
    path = f"{HERE}/resize.tsv"
    keep = []
    if os.path.exists(path):
        keep = [l.rstrip("\n").split("\t") for l in open(path) if not l.startswith(("#", "file"))]
        keep = [r for r in keep if r[5] != tag]
    with open(path, "w") as out:
        out.write("# convert('L').resize((out_w, out_h), LANCZOS) of the top-left w x h crop of file; "
                  "pillow = 13 (13.0.0) or 11 (11.3.0)\n")
        out.write("file\tw\th\tout_w\tout_h\tpillow\tgrey_hex\n")
        for r in sorted(keep + resize_rows(tag), key=lambda r: (r[5], RESIZE_CASES.index(tuple(map(int, r[1:5]))))):
            out.write("\t".join(r) + "\n")


def main():
    mode = sys.argv[1]
    os.makedirs(f"{HERE}/synthetic", exist_ok=True)
    imgs = synthetic_images()
    syn_files = []
    for name, a in imgs.items():
        f = f"imagehash/synthetic/{name}.png"
        if mode == "pillow13":
            Image.fromarray(a).save(f"{DATA}/{f}", optimize=True)
        syn_files.append(f)
    if mode == "pillow13":
        write_tsv(f"{HERE}/synthetic.tsv", hash_rows(syn_files),
                  "synthetic edge cases (CC0), hash_size 8 and 16, Pillow 13 resize order")
        write_tsv(f"{HERE}/hash16.tsv", hash_rows(lossless_corpus()),
                  "lossless 8-bit corpus files (licences: corpus/SOURCES.tsv), hash_size 8 and 16")
        write_resize("13")
        with open(f"{HERE}/dct.tsv", "w") as out:
            out.write(f"# scipy {scipy.__version__}: dct(dct(x, axis=0), axis=1)[:n/4, :n/4] as f64 bits\n")
            out.write("name\tn\tpixels_hex\ttop_left_f64_bits\n")
            for r in dct_rows():
                out.write("\t".join(r) + "\n")
    elif mode == "pillow11":
        write_tsv(f"{HERE}/pillow11.tsv", hash_rows(lossless_corpus() + syn_files),
                  "lossless corpus files and synthetic edge cases, hashed with Pillow 11 "
                  "(resize always horizontal pass first)")
        write_resize("11")
    else:
        sys.exit("usage: make_fixtures.py pillow13|pillow11")


if __name__ == "__main__":
    main()
