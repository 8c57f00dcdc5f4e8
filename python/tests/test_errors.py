"""Library errors become Python exceptions, one class per kind, never showing hash values."""

from __future__ import annotations

import re

import numpy as np
import pytest

import hashsieve
from conftest import random_hashes

HEX_RUN = re.compile(r"[0-9a-fA-F]{16,}")

KINDS = [
    "ChecksumError", "CorruptError", "DecodeError", "DuplicateListError", "InputFormatError",
    "InvalidArgumentError", "InvalidHexError", "InvalidPixelsError", "IoError", "LimitError",
    "MismatchError", "ParseError", "TruncatedError", "UnknownNameError", "UnsupportedError",
    "VersionError",
]


def test_one_class_per_kind_under_one_base():
    for name in KINDS:
        cls = getattr(hashsieve, name)
        assert issubclass(cls, hashsieve.HashsieveError) and cls is not hashsieve.HashsieveError
    assert issubclass(hashsieve.HashsieveError, Exception)


def raises(cls, fn, *args, **kw):
    with pytest.raises(cls) as info:
        fn(*args, **kw)
    msg = str(info.value)
    assert msg and not HEX_RUN.search(msg), msg
    return msg


@pytest.fixture()
def list_file(tmp_path):
    path = tmp_path / "l.hsl"
    hashes = random_hashes(100, 4)
    hashsieve.HashList.build(path, hashes)
    return path, hashes


def test_damaged_lists(tmp_path, list_file):
    path, hashes = list_file
    data = bytearray(path.read_bytes())
    # A flipped bit inside a stored hash: the hashes section's checksum catches it.
    at = bytes(data).find(hashes[0].tobytes())
    if at < 0:
        at = len(data) // 2
    data[at] ^= 1
    bad = tmp_path / "bad.hsl"
    bad.write_bytes(bytes(data))
    raises(hashsieve.ChecksumError, hashsieve.HashList.open, bad)
    short = tmp_path / "short.hsl"
    short.write_bytes(path.read_bytes()[:-7])
    raises(hashsieve.TruncatedError, hashsieve.HashList.open, short)
    empty = tmp_path / "empty.hsl"
    empty.write_bytes(b"")
    raises(hashsieve.UnsupportedError, hashsieve.HashList.open, empty)
    garbage = tmp_path / "garbage.hsl"
    garbage.write_bytes(b"not a list" * 100)
    raises(hashsieve.HashsieveError, hashsieve.HashList.open, garbage)
    raises(hashsieve.IoError, hashsieve.HashList.open, tmp_path / "missing.hsl")


def test_bad_arguments(list_file):
    path, hashes = list_file
    raises(hashsieve.InvalidHexError, hashsieve.Hash, "zz" + "0" * 62)
    raises(hashsieve.InvalidHexError, hashsieve.Hash, "ab" * 31)
    raises(hashsieve.UnknownNameError, hashsieve.Hash, "00" * 32, "md6")
    raises(hashsieve.InvalidArgumentError, hashsieve.Hash, "00" * 16, "md5")
    raises(hashsieve.InvalidPixelsError, hashsieve.pdq, np.zeros((4, 4, 2), np.uint8))
    raises(hashsieve.InvalidPixelsError, hashsieve.pdq, np.zeros((0, 4, 3), np.uint8))
    raises(hashsieve.DecodeError, hashsieve.pdq, b"\x89PNG\r\n\x1a\n but not really")
    raises(hashsieve.InvalidArgumentError, hashsieve.phash, np.zeros((8, 8), np.uint8), 12)
    m = hashsieve.Matcher()
    raises(hashsieve.UnknownNameError, m.add_list, hashsieve.HashList.open(path), index="btree")
    raises(hashsieve.InvalidArgumentError, m.query_batch, np.zeros((3, 31), np.uint8))
    raises(hashsieve.InvalidArgumentError, hashsieve.HashList.build, path, hashes, ["a"])
    with pytest.raises(TypeError):
        hashsieve.pdq(3.5)
    with pytest.raises(TypeError):
        hashsieve.pdq(np.zeros((8, 8), np.float32))


def test_hash_widths_must_agree():
    a = hashsieve.Hash("00" * 32)
    b = hashsieve.Hash("00" * 8, "phash")
    raises(hashsieve.MismatchError, lambda: a - b)
