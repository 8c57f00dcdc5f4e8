"""Writes DECODED.tsv for a folder of images: what hashsieve's decoder must produce for each.

Run with the reference venv (Pillow 13.0.0, numpy), from this folder:
    python make_decoded_tsv.py ../corpus > ../corpus/DECODED.tsv
    python make_decoded_tsv.py . > DECODED.tsv
Files named unsupported_* are skipped (the test expects a decode error for them).

Columns:
  file         image in this folder
  exif_mode    raw (EXIF orientation ignored) or transposed (PIL.ImageOps.exif_transpose)
  sixteen_bit  pillow (Pillow's own 16-bit handling) or scale (round(v / 257) of the 16-bit samples)
  exact        1: the decoder must reproduce these pixels bit for bit (lossless formats);
               0: lossy (JPEG): decoders differ slightly, compare thumb16 with a tolerance
  width height after orientation
  layout       L when Pillow's mode is grey (1, L, LA, I;16), else RGB
  rgb_sha256   SHA-256 of the H x W x 3 RGB bytes (Pillow convert('RGB'), or the scale rule)
  thumb16      lossy rows only: 16 x 16 block means of those RGB bytes, rounded, row-major,
               768 bytes in hex; block (by, bx) covers rows by*H//16 .. (by+1)*H//16 - 1 and
               columns bx*W//16 .. (bx+1)*W//16 - 1; "-" for exact rows and for lossy
               images with a side under 16 pixels
"""
import glob, hashlib, os, struct, zlib
import numpy as np
from PIL import Image, ImageOps

import sys

DIR = sys.argv[1]


def png16_samples(path):
    """The raw 16-bit samples of a non-interlaced 16-bit PNG (grey, grey+alpha, RGB, RGBA)."""
    d = open(path, "rb").read()
    pos, idat, ihdr = 8, b"", None
    while pos < len(d):
        n, t = struct.unpack(">I4s", d[pos:pos + 8])
        body = d[pos + 8:pos + 8 + n]
        if t == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif t == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    assert depth == 16 and interlace == 0
    ch = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    bpp, stride = 2 * ch, 2 * ch * w
    raw = zlib.decompress(idat)
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        cur = np.zeros(stride, np.int32)
        for x in range(stride):
            a = cur[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 0:
                p = 0
            elif f == 1:
                p = a
            elif f == 2:
                p = b
            elif f == 3:
                p = (a + b) // 2
            else:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                p = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + p) & 255
        out[y] = cur
        prev = cur
    return out.view(">u2").reshape(h, w, ch).astype(np.int64)


def thumb16(rgb):
    h, w, _ = rgb.shape
    assert h >= 16 and w >= 16
    t = np.zeros((16, 16, 3))
    for by in range(16):
        for bx in range(16):
            blk = rgb[by * h // 16:(by + 1) * h // 16, bx * w // 16:(bx + 1) * w // 16]
            t[by, bx] = blk.reshape(-1, 3).mean(axis=0)
    return np.floor(t + 0.5).astype(np.uint8).tobytes().hex()


def row(name, exif_mode, sixteen, exact, mode, rgb):
    h, w, _ = rgb.shape
    layout = "L" if mode in ("1", "L", "LA", "I;16") else "RGB"
    sha = hashlib.sha256(np.ascontiguousarray(rgb, np.uint8).tobytes()).hexdigest()
    # Images narrower or shorter than 16 pixels have no block means: exact with `jpeg-exact` only.
    th = "-" if exact or min(h, w) < 16 else thumb16(rgb)
    print("\t".join([name, exif_mode, sixteen, str(int(exact)), str(w), str(h), layout, sha, th]))


print("file\texif_mode\tsixteen_bit\texact\twidth\theight\tlayout\trgb_sha256\tthumb16")
for path in sorted(glob.glob(os.path.join(DIR, "*.*"))):
    name = os.path.basename(path)
    if name.endswith((".tsv", ".txt", ".py", ".md")) or name.startswith("unsupported_"):
        continue
    im = Image.open(path)
    exact = im.format != "JPEG"
    for exif_mode in ("raw", "transposed"):
        img = ImageOps.exif_transpose(im) if exif_mode == "transposed" else im
        row(name, exif_mode, "pillow", exact, im.mode, np.asarray(img.convert("RGB")))
    if im.format == "PNG" and open(path, "rb").read()[24] == 16:
        v = png16_samples(path)
        g = (v + 128) // 257
        rgb = np.repeat(g[..., :1], 3, axis=2) if v.shape[2] <= 2 else g[..., :3]
        row(name, "raw", "scale", exact, im.mode, rgb)
