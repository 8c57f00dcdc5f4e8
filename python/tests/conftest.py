"""Shared fixtures: the repository's bundled images, the `hashsieve` CLI (the oracle of the engine
tests) and the optional engines.

Set HASHSIEVE_REQUIRE_ENGINES=1 (CI does) to turn a missing engine, oracle or CLI into a failure
instead of a skip.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
REQUIRE = os.environ.get("HASHSIEVE_REQUIRE_ENGINES") == "1"


def require(module: str):
    """Imports an optional module: skipped when absent, a failure under HASHSIEVE_REQUIRE_ENGINES=1."""
    try:
        return importlib.import_module(module)
    except ImportError as e:  # pragma: no cover - depends on the environment
        if REQUIRE:
            pytest.fail(f"{module} is required (HASHSIEVE_REQUIRE_ENGINES=1) but missing: {e}")
        pytest.skip(f"{module} is not installed")


def photos() -> list[Path]:
    """The bundled benign photos (tests/data/SOURCES.md) and the PDQ reference's test images."""
    found = sorted((DATA / "corpus").glob("photo_*.png"))
    found += sorted((DATA / "pdq" / "misc-images").glob("*.jpg"))
    found += sorted((DATA / "pdq" / "misc-images").glob("*.png"))
    found += sorted((DATA / "pdq" / "reg-test-input").glob("*.png"))
    return found


@pytest.fixture(scope="session")
def hashsieve_bin() -> str:
    """The `hashsieve` CLI: $HASHSIEVE_BIN, else the cargo-built one, else PATH."""
    candidates = [os.environ.get("HASHSIEVE_BIN")]
    candidates += [str(REPO / "target" / p / "hashsieve") for p in ("debug", "release")]
    candidates.append(shutil.which("hashsieve"))
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    msg = "the hashsieve CLI was not found (set HASHSIEVE_BIN or run `cargo build --bin hashsieve`)"
    if REQUIRE:
        pytest.fail(msg)
    pytest.skip(msg)


def random_hashes(n: int, seed: int, width: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, width), dtype=np.uint8)


def flip_bits(h: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """A copy of one hash (bytes) with k distinct random bits flipped."""
    bits = np.unpackbits(h)
    idx = rng.choice(bits.size, size=k, replace=False)
    bits[idx] ^= 1
    return np.packbits(bits)


def brute_force(queries: np.ndarray, hashes: np.ndarray, threshold: int) -> set[tuple[int, int, int]]:
    """The oracle: every (query, hash index, distance) within the threshold, by numpy popcount."""
    out = set()
    for qi, q in enumerate(queries):
        d = np.unpackbits(np.bitwise_xor(hashes, q), axis=1).sum(axis=1)
        for hi in np.nonzero(d <= threshold)[0]:
            out.add((qi, int(hi), int(d[hi])))
    return out


def planted_set(clusters: int, size: int, noise: int, spread: int, seed: int) -> np.ndarray:
    """`clusters` groups of `size` hashes each within `spread` bits of a random centre, plus
    `noise` random hashes (far from everything at PDQ thresholds), shuffled."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(clusters):
        centre = rng.integers(0, 256, size=32, dtype=np.uint8)
        rows.append(centre)
        for _ in range(size - 1):
            rows.append(flip_bits(centre, int(rng.integers(1, spread + 1)), rng))
    rows.extend(random_hashes(noise, seed + 1))
    arr = np.array(rows, dtype=np.uint8)
    return arr[rng.permutation(len(arr))]
