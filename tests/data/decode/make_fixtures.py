"""Regenerates the synthetic fixtures in this folder (run from this folder with the reference venv:
Pillow 13.0.0, numpy). Every image is derived from ../corpus/photo_003.png (CC0) or is random
noise from a fixed seed; all are CC0. Expected pixels: make_decoded_tsv.py."""
import struct, zlib, io
import numpy as np
from PIL import Image


def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)


def png16(path, arr, ctype, extra=b""):
    """A 16-bit PNG written by hand (Pillow cannot write grey+alpha, RGB or RGBA at 16 bits)."""
    h, w, _ = arr.shape
    rows = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, ctype, 0, 0, 0)
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra
                           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def tiff_rgb16(path, arr):
    """An uncompressed little-endian 16-bit RGB TIFF written by hand."""
    h, w, spp = arr.shape
    data = arr.astype("<u2").tobytes()
    ifd_off = 8 + len(data)
    n = 9
    extra_off = ifd_off + 2 + n * 12 + 4
    short = lambda tag, v: struct.pack("<HHIHH", tag, 3, 1, v, 0)
    ifd = [short(256, w), short(257, h), struct.pack("<HHII", 258, 3, spp, extra_off),
           short(259, 1), short(262, 2), struct.pack("<HHII", 273, 4, 1, 8), short(277, spp),
           short(278, h), struct.pack("<HHII", 279, 4, 1, len(data))]
    out = b"II*\x00" + struct.pack("<I", ifd_off) + data + struct.pack("<H", n) + b"".join(ifd)
    out += struct.pack("<I", 0) + struct.pack("<" + "H" * spp, *([16] * spp))
    open(path, "wb").write(out)


def bmp16(path, px, masks):
    """A 16-bit BI_BITFIELDS BMP written by hand (Pillow reads but cannot write these)."""
    h, w = px.shape
    rowb = (w * 2 + 3) // 4 * 4
    data = b"".join(px[y].astype("<u2").tobytes().ljust(rowb, b"\0") for y in range(h - 1, -1, -1))
    off = 14 + 40 + 12
    fh = b"BM" + struct.pack("<IHHI", off + len(data), 0, 0, off)
    ih = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 16, 3, len(data), 2835, 2835, 0, 0)
    open(path, "wb").write(fh + ih + struct.pack("<III", *masks) + data)


def gif_small_first_frame(path, transparency):
    """A GIF whose first frame covers only part of the 8x6 canvas (Pillow fills the rest with
    palette entry `transparency or 0`)."""
    im = Image.new("P", (4, 4))
    im.putpalette([c for i in range(256) for c in (i, 255 - i, (i * 7) % 256)])
    im.putdata(list(range(10, 26)))
    b = io.BytesIO()
    im.save(b, "GIF")
    d = bytearray(b.getvalue())
    d[6:10] = struct.pack("<HH", 8, 6)
    d[11] = 3  # background index (Pillow does not use it for frame 0)
    i = d.index(0x2C, 13 + 3 * (2 << (d[10] & 7)) if d[10] & 0x80 else 13)
    d[i + 1:i + 5] = struct.pack("<HH", 2, 1)
    if transparency is not None:
        d[i:i] = bytes([0x21, 0xF9, 4, 0x01, 0, 0, transparency, 0])
    open(path, "wb").write(d)


rng = np.random.default_rng(1)
for name, ch, ct in [("l16", 1, 0), ("la16", 2, 4), ("rgb16", 3, 2), ("rgba16", 4, 6)]:
    a = rng.integers(0, 65536, size=(5, 7, ch), dtype=np.uint16)
    a[0, :5, 0] = [255, 256, 65535, 128, 129]  # clip / high-byte / rounding boundaries
    png16(f"png_{name}.png", a, ct)
    if name == "l16":
        png16("png_l16trns.png", a, 0, chunk(b"tRNS", struct.pack(">H", int(a[1, 1, 0]))))
        Image.fromarray(a[..., 0]).save("tif_l16.tif")
    if name == "rgb16":
        tiff_rgb16("tif_rgb16.tif", a)
px = np.random.default_rng(3).integers(0, 65536, (7, 13), dtype=np.uint16)
bmp16("bmp_565.bmp", px, (0xF800, 0x07E0, 0x001F))
bmp16("bmp_555.bmp", px, (0x7C00, 0x03E0, 0x001F))
gif_small_first_frame("gif_small_first_frame.gif", None)
gif_small_first_frame("gif_small_first_frame_trns.gif", 5)

rng = np.random.default_rng(7)
src = Image.open("../corpus/photo_003.png").convert("RGB").resize((61, 37))
a = np.asarray(src)
rgba = Image.fromarray(np.dstack([a, rng.integers(0, 256, a.shape[:2], dtype=np.uint8)]), "RGBA")
L, P, P16 = src.convert("L"), src.quantize(37), src.quantize(16)
one = L.convert("1")
P16.save("png_pal_4bit.png", bits=4)
P.save("png_pal37.png")
Image.fromarray((np.asarray(L) // 64).astype(np.uint8) * 85, "L").save("png_grey_2bit.png", bits=2)
P.save("bmp_pal8.bmp"); P16.save("bmp_pal4.bmp"); one.save("bmp_mono.bmp"); L.save("bmp_grey8.bmp")
rgba.save("bmp_rgba32.bmp")
src.convert("CMYK").save("tif_cmyk.tif"); L.save("tif_grey.tif"); one.save("tif_mono.tif")
rgba.save("tif_rgba.tif")
src.save("tif_rgb_deflate.tif", compression="tiff_deflate")
src.save("tif_rgb_packbits.tif", compression="packbits")
P.save("gif_pal_trns.gif", transparency=3)
P.save("gif_interlaced.gif", interlace=True)
frames = [src, src.transpose(Image.FLIP_LEFT_RIGHT)]
frames[0].save("gif_anim.gif", save_all=True, append_images=frames[1:], duration=100)
rgba.save("webp_alpha_lossy.webp", quality=80)
rgba.save("webp_alpha_lossless.webp", lossless=True)
L.save("webp_grey_lossy.webp", quality=90)
frames[0].save("webp_anim.webp", save_all=True, append_images=frames[1:], duration=100, quality=80)
src.convert("CMYK").save("jpg_cmyk.jpg", quality=90)
src.save("jpg_444.jpg", quality=90, subsampling=0)
src.resize((59, 35)).save("jpg_odd_420.jpg", quality=85)
# libjpeg's 4:2:2 (h2v1) upsampling, progressive 4:2:2, and images whose chroma is at most two
# samples wide (libjpeg falls back to plain replication there).
src.save("jpg_422.jpg", quality=90, subsampling=1)
src.resize((45, 29)).save("jpg_422_progressive.jpg", quality=80, subsampling=1, progressive=True)
src.resize((4, 37)).save("jpg_narrow_420.jpg", quality=90)
src.resize((3, 9)).save("jpg_narrow_422.jpg", quality=90, subsampling=1)
# Huffman tables optimized for the image (not the standard ones) and a restart marker every MCU
# row, which hashsieve's own Huffman decoder must read as libjpeg does.
src.save("jpg_optimized_restart.jpg", quality=75, optimize=True, restart_marker_rows=1)
for o in range(1, 9):
    ex = Image.Exif(); ex[0x0112] = o
    src.save(f"orient{o}.png", exif=ex.tobytes())
ex = Image.Exif(); ex[0x0112] = 3; src.save("orient3.webp", lossless=True, exif=ex.tobytes())
ex = Image.Exif(); ex[0x0112] = 5; src.save("orient5.tif", exif=ex.tobytes())
ex = Image.Exif(); ex[0x0112] = 7; src.save("orient7.jpg", quality=90, exif=ex.tobytes())
P.save("unsupported_palette.tif")  # the image crate cannot decode palette TIFFs
