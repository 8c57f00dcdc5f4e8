"""Hashing: bit-exact with pdqhash and imagehash on the bundled photos and synthetic images, from
every input form (numpy, PIL, bytes, path), and the ImageHash-like behaviour of `Hash`."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest

import hashsieve
from conftest import photos, require

PHOTOS = photos()


def pdq_hex(bits) -> str:
    return np.packbits(np.asarray(bits, dtype=np.uint8)).tobytes().hex()


def rgb(path):
    Image = require("PIL.Image")
    with Image.open(path) as im:
        return im.convert("RGB")


def mode(path) -> str:
    Image = require("PIL.Image")
    with Image.open(path) as im:
        return im.mode


def synthetic(seed: int, h: int = 97, w: int = 131) -> np.ndarray:
    """A smooth random image (not noise: PDQ quality is high and the hash is stable)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(h // 8 + 2, w // 8 + 2, 3)).astype(np.float64)
    big = np.kron(small, np.ones((8, 8, 1)))[:h, :w]
    return np.ascontiguousarray(big.astype(np.uint8))


def test_the_bundled_photos_are_there():
    assert len(PHOTOS) >= 10


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.name)
def test_pdq_is_bit_exact_with_pdqhash(path):
    pdqhash = require("pdqhash")
    arr = np.asarray(rgb(path))
    bits, quality = pdqhash.compute(arr)
    h, q = hashsieve.pdq(arr)
    assert (str(h), q) == (pdq_hex(bits), quality)
    # The same pixels as a PIL image, as encoded bytes and as a path.
    assert hashsieve.pdq(rgb(path)) == (h, q)
    if path.suffix == ".png" and rgb(path).mode == "RGB":
        with open(path, "rb") as f:
            data = f.read()
        assert hashsieve.pdq(data)[0] == hashsieve.pdq(str(path))[0]
    if path.suffix == ".jpg" and mode(path) == "RGB":
        # Decoded by the package itself (libjpeg-turbo's decoder, as Pillow's): the same hash.
        assert hashsieve.pdq(str(path)) == (h, q)


@pytest.mark.parametrize("path", PHOTOS[:6], ids=lambda p: p.name)
def test_pdq_dihedral_is_bit_exact_with_pdqhash(path):
    pdqhash = require("pdqhash")
    arr = np.asarray(rgb(path))
    ref, quality = pdqhash.compute_dihedral(arr)
    hashes, q = hashsieve.pdq_dihedral(arr)
    assert q == quality
    assert [str(h) for h in hashes] == [pdq_hex(b) for b in ref]
    exact, _ = hashsieve.pdq_dihedral(arr, exact=True)
    assert exact[0] == hashes[0]


@pytest.mark.parametrize("seed", range(4))
def test_pdq_on_synthetic_images_and_layouts(seed):
    pdqhash = require("pdqhash")
    arr = synthetic(seed)
    bits, quality = pdqhash.compute(arr)
    assert hashsieve.pdq(arr) == (hashsieve.Hash(pdq_hex(bits)), quality)
    # RGBA with opaque alpha hashes as its RGB; a strided (non-contiguous) view as its copy.
    rgba = np.dstack([arr, np.full(arr.shape[:2], 255, np.uint8)])
    assert hashsieve.pdq(rgba) == hashsieve.pdq(arr)
    view = np.asarray(synthetic(seed, 194, 131))[::2]
    assert not view.flags.c_contiguous
    assert hashsieve.pdq(view) == hashsieve.pdq(np.ascontiguousarray(view))


FAMILY = ["phash", "dhash", "average_hash", "whash"]


@pytest.mark.parametrize("path", PHOTOS, ids=lambda p: p.name)
@pytest.mark.parametrize("name", FAMILY)
def test_imagehash_family_is_bit_exact(path, name):
    imagehash = require("imagehash")
    im = rgb(path)
    ours, theirs = getattr(hashsieve, name), getattr(imagehash, name)
    for size in (8, 16):
        ref = theirs(im, hash_size=size)
        got = ours(im, hash_size=size)
        assert str(got) == str(ref), (name, size)
        assert len(got) == ref.hash.size
        assert np.array_equal(got.hash, ref.hash)
    # From numpy pixels: RGB (converted to L as Pillow does) and L.
    assert str(ours(np.asarray(im))) == str(theirs(im))
    assert str(ours(np.asarray(im.convert("L")))) == str(theirs(im))


def test_hash_behaves_like_imagehash():
    imagehash = require("imagehash")
    a_img, b_img = synthetic(1), synthetic(2)
    Image = require("PIL.Image")
    a, b = hashsieve.phash(a_img), hashsieve.phash(b_img)
    ra, rb = imagehash.phash(Image.fromarray(a_img)), imagehash.phash(Image.fromarray(b_img))
    assert a - b == ra - rb
    assert a == hashsieve.phash(a_img) and a != b
    assert len({a, hashsieve.phash(a_img), b}) == 2
    assert hashsieve.Hash(str(a), "phash") == a
    assert pickle.loads(pickle.dumps(a)) == a
    assert a.to_bytes().hex() == str(a)
    assert hashsieve.Hash.from_bytes(a.to_bytes(), "phash") == a
    assert a.kind == "phash" and len(a) == 64


def test_hash_file_and_hash_bytes_compute_several_kinds_in_one_decode():
    imagehash = require("imagehash")
    path = PHOTOS[0]
    kinds = ["pdq", "phash", "dhash", "ahash", "whash"]
    from_file = hashsieve.hash_file(str(path), kinds)
    with open(path, "rb") as f:
        from_bytes = hashsieve.hash_bytes(f.read(), kinds)
    assert list(from_file) == kinds
    assert {k: (str(h), q) for k, (h, q) in from_file.items()} == {
        k: (str(h), q) for k, (h, q) in from_bytes.items()
    }
    assert from_file["pdq"] == hashsieve.pdq(rgb(path))
    assert str(from_file["phash"][0]) == str(imagehash.phash(rgb(path)))


def test_pil_modes_match_the_references():
    imagehash = require("imagehash")
    pdqhash = require("pdqhash")
    Image = require("PIL.Image")
    base = Image.fromarray(synthetic(7))
    for mode in ("P", "LA", "RGBA", "L", "I"):
        im = base.convert(mode)
        assert str(hashsieve.phash(im)) == str(imagehash.phash(im)), mode
        bits, q = pdqhash.compute(np.asarray(im.convert("RGB")))
        if mode != "L":  # pdqhash wants RGB; L is hashed as gray, the crate's luma path
            assert hashsieve.pdq(im) == (hashsieve.Hash(pdq_hex(bits)), q), mode


def test_encoded_png_bytes():
    Image = require("PIL.Image")
    arr = synthetic(3)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    assert hashsieve.pdq(buf.getvalue()) == hashsieve.pdq(arr)
