"""Writes PILLOW_EXTRA.tsv: Pillow's pixels for edits that the corpus does not hold.

For each PNG photo of tests/data/corpus that the corpus also edited (TRANSFORMED.tsv), apply
Pillow 13 edits with the semantics that hashsieve::eval::transform documents, to
`Image.open(src).convert("RGB")`, and record the SHA-256 of the RGB bytes and the PDQ hash
(pdqhash 0.2.8, full resolution, the corpus conventions). No image is written.

Run from this folder with the reference venv:  /tmp/refhash/bin/python make_pillow_extra.py
"""
import hashlib

import numpy as np
import pdqhash
from PIL import Image, ImageEnhance, ImageFilter

SOURCES = ["photo_002.png", "photo_003.png", "photo_006.png", "photo_007.png", "photo_011.png"]
T = Image.Transpose
EDITS = [
    ("flip_vertical", "transpose(FLIP_TOP_BOTTOM)", lambda im: im.transpose(T.FLIP_TOP_BOTTOM)),
    ("transpose", "transpose(TRANSPOSE)", lambda im: im.transpose(T.TRANSPOSE)),
    ("transverse", "transpose(TRANSVERSE)", lambda im: im.transpose(T.TRANSVERSE)),
    ("crop_2each", "crop(round(0.02 side) each)", None),
    ("resize_33", "resize(round(0.33 side), LANCZOS)", None),
    ("resize_150", "resize(round(1.5 side), LANCZOS)", None),
    ("brightness_70", "ImageEnhance.Brightness.enhance(0.7)", lambda im: ImageEnhance.Brightness(im).enhance(0.7)),
    ("contrast_70", "ImageEnhance.Contrast.enhance(0.7)", lambda im: ImageEnhance.Contrast(im).enhance(0.7)),
    ("contrast_130", "ImageEnhance.Contrast.enhance(1.3)", lambda im: ImageEnhance.Contrast(im).enhance(1.3)),
    ("rotate_2ccw", "rotate(2, BILINEAR)", lambda im: im.rotate(2, resample=Image.Resampling.BILINEAR)),
    ("rotate_5ccw", "rotate(5, BILINEAR)", lambda im: im.rotate(5, resample=Image.Resampling.BILINEAR)),
    ("rotate_3cw", "rotate(-3, BILINEAR)", lambda im: im.rotate(-3, resample=Image.Resampling.BILINEAR)),
    ("rotate_0.5ccw", "rotate(0.5, BILINEAR)", lambda im: im.rotate(0.5, resample=Image.Resampling.BILINEAR)),
    ("blur_gauss_r1", "filter(GaussianBlur(1))", lambda im: im.filter(ImageFilter.GaussianBlur(1))),
    ("blur_gauss_r0.5", "filter(GaussianBlur(0.5))", lambda im: im.filter(ImageFilter.GaussianBlur(0.5))),
    ("blur_gauss_r7.5", "filter(GaussianBlur(7.5))", lambda im: im.filter(ImageFilter.GaussianBlur(7.5))),
]


def crop(im, p):
    w, h = im.size
    dx, dy = round(w * p), round(h * p)
    return im.crop((dx, dy, w - dx, h - dy))


def resize(im, p):
    w, h = im.size
    return im.resize((round(w * p), round(h * p)), Image.Resampling.LANCZOS)


def main():
    cols = ["source_file", "transform", "pillow", "width", "height", "rgb_sha256", "pdq_hex"]
    rows = ["\t".join(cols)]
    for src in SOURCES:
        rgb = Image.open("../corpus/" + src).convert("RGB")
        for name, call, fn in EDITS:
            if name == "crop_2each":
                out = crop(rgb, 0.02)
            elif name.startswith("resize_"):
                out = resize(rgb, int(name[7:]) / 100)
            else:
                out = fn(rgb)
            out = out.convert("RGB")
            arr = np.ascontiguousarray(np.asarray(out, dtype=np.uint8))
            bits, _ = pdqhash.compute(arr)
            pdq = np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()
            sha = hashlib.sha256(arr.tobytes()).hexdigest()
            rows.append("\t".join([src, name, call, str(out.width), str(out.height), sha, pdq]))
    with open("PILLOW_EXTRA.tsv", "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
