"""hashsieve: perceptual image hashes bit-exact with pdqhash and imagehash, and exact Hamming
search over memory-mapped hash lists. A thin layer over the Rust crate of the same name.

Images are numpy ``uint8`` arrays (HxW, HxWx3 or HxWx4; read without a copy when C-contiguous),
``bytes`` of an encoded image, a path, or a PIL image. Every heavy call releases the GIL, and
every object can be shared by threads.
"""

from __future__ import annotations

import os
from typing import Any

from . import _hashsieve
from ._hashsieve import (
    BatchResult,
    ChecksumError,
    CorruptError,
    DecodeError,
    DuplicateListError,
    Hash,
    HashList,
    HashsieveError,
    InputFormatError,
    InvalidArgumentError,
    InvalidHexError,
    InvalidPixelsError,
    IoError,
    LimitError,
    Match,
    Matcher,
    MismatchError,
    ParseError,
    TruncatedError,
    UnknownNameError,
    UnsupportedError,
    VersionError,
    dedup,
    default_threshold,
    distances,
    hash_bytes,
    hash_file,
)

__all__ = [
    "BatchResult", "ChecksumError", "CorruptError", "DecodeError", "DuplicateListError", "Hash",
    "HashList", "HashsieveError", "InputFormatError", "InvalidArgumentError", "InvalidHexError",
    "InvalidPixelsError", "IoError", "LimitError", "Match", "Matcher", "MismatchError",
    "ParseError", "TruncatedError", "UnknownNameError", "UnsupportedError", "VersionError",
    "average_hash", "dedup", "default_threshold", "dhash", "distances", "hash_bytes", "hash_file",
    "pdq", "pdq_dihedral", "phash", "whash",
]


def _pil_pixels(image: Any, family: str) -> Any:
    """A PIL image as a numpy array in the mode the reference tool reads it in.

    pdqhash is given RGB pixels; imagehash converts to ``L`` with Pillow itself, so the imagehash
    family gets Pillow's own ``L`` conversion (bit-exact by construction, whatever the mode).
    """
    import numpy as np

    if family == "imagehash":
        mode = "L"
    else:
        mode = image.mode if image.mode in ("L", "RGB") else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    return np.asarray(image)


def _image(image: Any, family: str) -> Any:
    if isinstance(image, (bytes, str, os.PathLike)):
        return image
    if hasattr(image, "mode") and hasattr(image, "convert") and hasattr(image, "size"):
        return _pil_pixels(image, family)
    return image


def pdq(image: Any) -> tuple[Hash, int]:
    """PDQ hash and quality (0..=100) of an image, bit-exact with ``pdqhash.compute``."""
    return _hashsieve.pdq(_image(image, "pdq"))


def pdq_dihedral(image: Any, exact: bool = False) -> tuple[list[Hash], int]:
    """The eight PDQ dihedral hashes, in ``pdqhash.compute_dihedral``'s order, and the quality.

    ``exact=False`` gives the reference's DCT sign flips (bit-exact with pdqhash); ``exact=True``
    gives the hashes of the rotated and flipped pixels themselves.
    """
    return _hashsieve.pdq_dihedral(_image(image, "pdq"), exact)


def phash(image: Any, hash_size: int = 8) -> Hash:
    """``imagehash.phash`` (hash_size 8 or 16)."""
    return _hashsieve.phash(_image(image, "imagehash"), hash_size)


def dhash(image: Any, hash_size: int = 8) -> Hash:
    """``imagehash.dhash`` (hash_size 8 or 16)."""
    return _hashsieve.dhash(_image(image, "imagehash"), hash_size)


def average_hash(image: Any, hash_size: int = 8) -> Hash:
    """``imagehash.average_hash`` (hash_size 8 or 16)."""
    return _hashsieve.average_hash(_image(image, "imagehash"), hash_size)


def whash(image: Any, hash_size: int = 8) -> Hash:
    """``imagehash.whash`` with its defaults (Haar, hash_size 8 or 16)."""
    return _hashsieve.whash(_image(image, "imagehash"), hash_size)
