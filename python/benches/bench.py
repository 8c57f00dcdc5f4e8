"""Benchmarks of the Python package, one thread, every baseline measured in the same run.

    RAYON_NUM_THREADS=1 python benches/bench.py [--n 1000000] [--queries 2000]

Prints a markdown table (python/README.md holds one run). Needs numpy, pillow, pdqhash,
imagehash and faiss-cpu. Results are checked (same hashes, same match counts) so a broken path
cannot look fast.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

for var in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402

import hashsieve  # noqa: E402

ROWS: list[tuple[str, str, str, str]] = []


def best(fn, repeat: int = 3, number: int = 1) -> float:
    """Seconds per call: the best of `repeat` runs of `number` calls."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t) / number)
    return min(times)


def row(what: str, ours: float, theirs: float, baseline: str, unit: str = "ms") -> None:
    scale = {"ms": 1e3, "us": 1e6}[unit]
    ROWS.append((what, f"{ours * scale:.3g} {unit}", f"{theirs * scale:.3g} {unit} ({baseline})",
                 f"{theirs / ours:.1f}x"))


def bench_hashing() -> None:
    import imagehash
    import pdqhash
    from PIL import Image

    rng = np.random.default_rng(1)
    small = rng.integers(0, 256, size=(100, 130, 3)).astype(np.uint8)
    arr = np.ascontiguousarray(np.kron(small, np.ones((8, 8, 1), np.uint8))[:768, :1024])
    pil = Image.fromarray(arr)
    bits, q = pdqhash.compute(arr)
    assert str(hashsieve.pdq(arr)[0]) == np.packbits(bits).tobytes().hex()
    row("pdq, 1024x768 RGB numpy", best(lambda: hashsieve.pdq(arr), number=5),
        best(lambda: pdqhash.compute(arr), number=5), "pdqhash")
    for name in ("phash", "dhash", "average_hash", "whash"):
        ours, theirs = getattr(hashsieve, name), getattr(imagehash, name)
        assert str(ours(arr)) == str(theirs(pil)), name
        row(f"{name}, 1024x768 RGB numpy", best(lambda: ours(arr), number=5),
            best(lambda: theirs(pil), number=5), "imagehash on the PIL image")


def bench_matching(n: int, queries: int) -> None:
    import faiss

    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(2)
    hashes = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    # Queries: half near a list hash (up to 20 bits flipped), half random.
    qs = rng.integers(0, 256, size=(queries, 32), dtype=np.uint8)
    for i in range(queries // 2):
        bits = np.unpackbits(hashes[rng.integers(n)])
        bits[rng.choice(256, int(rng.integers(0, 21)), replace=False)] ^= 1
        qs[i] = np.packbits(bits)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.hsl")
        hashsieve.HashList.build(path, hashes)
        lst = hashsieve.HashList.open(path)
        m = hashsieve.Matcher()
        m.add_list(lst, threshold=31)
        index_name = m.lists[0]["index"]
        stored = lst.hashes()

        one = hashsieve.Hash(qs[0].tobytes().hex())
        calls = 20000
        py = best(lambda: [m.query(one) for _ in range(calls)]) / calls
        rust = min(m._bench_query(one, calls) for _ in range(3)) / calls
        ROWS.append((f"Matcher.query, {n:,} list ({index_name}), per call",
                     f"{py * 1e6:.2f} us", f"{rust * 1e6:.2f} us (the Rust call)",
                     f"overhead {(py - rust) * 1e6:.2f} us"))

        cheap = hashsieve.Matcher()
        cheap.add_list(lst, threshold=8)
        py = best(lambda: [cheap.query(one) for _ in range(calls)]) / calls
        rust = min(cheap._bench_query(one, calls) for _ in range(3)) / calls
        ROWS.append((f"Matcher.query, {n:,} list ({cheap.lists[0]['index']}, r<=8), per call",
                     f"{py * 1e6:.2f} us", f"{rust * 1e6:.2f} us (the Rust call)",
                     f"overhead {(py - rust) * 1e6:.2f} us"))

        r = m.query_batch(qs)
        found = len(r)
        py_b = best(lambda: m.query_batch(qs))
        rust_b = min(m._bench_query_batch(qs) for _ in range(3))
        ROWS.append((f"query_batch, {queries:,} queries, {n:,} list", f"{queries / py_b:,.0f} q/s",
                     f"{queries / rust_b:,.0f} q/s (Rust batch)", f"{rust_b / py_b:.0%} of Rust"))

        import threading

        halves = [qs[: queries // 2], qs[queries // 2 :]]

        def two_threads():
            ts = [threading.Thread(target=m.query_batch, args=(h,)) for h in halves]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

        t1 = best(lambda: [m.query_batch(h) for h in halves])
        t2 = best(two_threads)
        ROWS.append((f"query_batch from 2 Python threads, {queries:,} queries",
                     f"{t2 * 1e3:.3g} ms", f"{t1 * 1e3:.3g} ms (1 thread)",
                     f"{t1 / t2:.2f}x (GIL released)"))

        flat = faiss.IndexBinaryFlat(256)
        flat.add(stored)
        lims, _, _ = flat.range_search(qs, 32)  # faiss: distance < radius
        assert lims[-1] == found, (lims[-1], found)
        t_flat = best(lambda: flat.range_search(qs, 32), repeat=1)
        row(f"range r<=31, {queries:,} queries, {n:,} list", py_b, t_flat,
            "FAISS IndexBinaryFlat")
        mh = faiss.IndexBinaryMultiHash(256, 16, 16)
        mh.nflip = 1  # 16 tables of 16 bits, one flip: complete for r <= 31 (pigeonhole)
        mh.add(stored)
        lims, _, _ = mh.range_search(qs, 32)
        assert lims[-1] == found, (lims[-1], found)
        t_mh = best(lambda: mh.range_search(qs, 32), repeat=1)
        row(f"range r<=31, {queries:,} queries, {n:,} list", py_b, t_mh,
            "FAISS IndexBinaryMultiHash 16x16, nflip 1")


def bench_spark_rates(n: int = 200_000) -> None:
    """Per-partition rates of the Spark dedup's Python stages (pandas in, pandas out, no JVM)."""
    import pandas as pd

    from hashsieve.spark import _band_keys, _verify

    rng = np.random.default_rng(3)
    h = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    pdf = pd.DataFrame({"id": np.arange(n), "hash": [r.tobytes() for r in h]})
    for radius, t in ((0, 15), (1, 31)):
        s = best(lambda: sum(len(x) for x in _band_keys(iter([pdf]), "hash", "id", 16, radius)),
                 repeat=1)
        rows = n * 16 * (1 if radius == 0 else 17)
        ROWS.append((f"spark dedup keys, r<={t} ({rows // n} rows per hash)",
                     f"{n / s:,.0f} hashes/s", f"{rows / s:,.0f} rows/s", "per core"))
    pairs = pd.DataFrame({"a": np.arange(n), "b": np.arange(n), "ha": pdf["hash"],
                          "hb": pdf["hash"].sample(frac=1, random_state=1).to_numpy()})
    s = best(lambda: sum(len(x) for x in _verify(iter([pairs]), 31)), repeat=1)
    ROWS.append(("spark dedup exact check of candidate pairs", f"{n / s:,.0f} pairs/s", "",
                 "per core"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--skip-hashing", action="store_true")
    ap.add_argument("--skip-spark-rates", action="store_true")
    args = ap.parse_args()
    if not args.skip_hashing:
        bench_hashing()
    bench_matching(args.n, args.queries)
    if not args.skip_spark_rates:
        bench_spark_rates()
    print("| what | hashsieve (Python) | baseline | ratio |")
    print("|---|---|---|---|")
    for r in ROWS:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
