"""Same-run peer measurement: FAISS IndexBinaryFlat range search, 1 thread, 1M random hashes.

Run beside `RAYON_NUM_THREADS=1 hashsieve bench search --size 1000000 --queries 200` (and
`--bits 64 --threshold 10`). Needs `pip install faiss-cpu numpy`; not used by the crate.
"""
import sys, time, numpy as np, faiss
faiss.omp_set_num_threads(1)
n, nq = 1_000_000, 200
rng = np.random.default_rng(1)
for bits, r, kmax in [(256, 31, 40), (64, 10, 13)]:
    nb = bits // 8
    db = rng.integers(0, 256, size=(n, nb), dtype=np.uint8)
    q = rng.integers(0, 256, size=(nq, nb), dtype=np.uint8)
    idx = faiss.IndexBinaryFlat(bits); idx.add(db)
    t = time.perf_counter(); lims, D, I = idx.range_search(q, r + 1); dt = time.perf_counter() - t
    print(f"faiss IndexBinaryFlat {bits}-bit n={n} r={r} 1 thread: {nq/dt:.1f} q/s")
