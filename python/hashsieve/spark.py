"""PySpark: a platform back-fill (hash images, match them against a list) and distributed dedup.

Both are plain DataFrame code over ``mapInPandas`` (Arrow batches): the Rust work runs in the
Python workers, one matcher per executor process (the list is shipped with
``SparkContext.addFile`` and memory-mapped once per process). See python/README.md.
"""

from __future__ import annotations

import os
from itertools import combinations
from typing import Iterator, Optional

import numpy as np

from . import _cache
from ._cache import COLUMNS
from ._hashsieve import distances, hash_bytes, hash_file

MATCH_SCHEMA = (
    "key string, list string, entry_id string, entry_index long, distance int, quality int, "
    "hash string, error string"
)


def _match_batches(batches: Iterator, list_file: str, threshold: Optional[int], key_col: str,
                   content_col: Optional[str]) -> Iterator:
    import pandas as pd
    from pyspark import SparkFiles

    matcher = _cache.matcher_for(SparkFiles.get(list_file), threshold)
    hash_image = (lambda data: hash_bytes(bytes(data))) if content_col else hash_file
    for pdf in batches:
        sources = pdf[content_col] if content_col else pdf[key_col]
        rows = _cache.match_rows(matcher, zip(pdf[key_col], sources), hash_image)
        if rows:  # an empty batch is not sent: pyarrow 26 cannot convert empty object columns
            out = {c: [row[i] for row in rows] for i, c in enumerate(COLUMNS)}
            yield pd.DataFrame(out).astype({"entry_index": "Int64", "distance": "Int32",
                                            "quality": "Int32"})


def backfill(df, list_path: str, *, key_col: str = "path", content_col: Optional[str] = None,
             threshold: Optional[int] = None):
    """Hashes every image of `df` (PDQ) and matches it against the list at `list_path`.

    Images are read from the paths in `key_col`, or from the encoded bytes in `content_col`
    (then `key_col` only names them). Returns a DataFrame with one row per (image, matched entry
    id) — the rows `hashsieve match --format tsv` prints — plus one row with `error` set for each
    image that could not be hashed. The list file is shipped to the executors with
    `SparkContext.addFile` and memory-mapped once per executor process.
    """
    spark = df.sparkSession
    spark.sparkContext.addFile(os.path.abspath(list_path))
    name = os.path.basename(list_path)
    cols = [key_col] + ([content_col] if content_col else [])
    return df.select(*cols).mapInPandas(
        lambda it: _match_batches(it, name, threshold, key_col, content_col), MATCH_SCHEMA)


def _matrix(column) -> np.ndarray:
    """A column of 32-byte binaries as an (n, 32) uint8 array (one join, one copy)."""
    data = b"".join(bytes(x) for x in column)
    if len(data) != 32 * len(column):
        raise ValueError("every hash must be 32 bytes (a PDQ hash)")
    return np.frombuffer(data, np.uint8).reshape(len(column), 32)


def _band_keys(batches: Iterator, hash_col: str, id_col: str, bands: int, radius: int) -> Iterator:
    import pandas as pd

    bits = 256 // bands
    masks = [0] + [sum(1 << b for b in c) for r in range(1, radius + 1)
                   for c in combinations(range(bits), r)]
    masks_arr = np.array(masks, dtype=np.int64)
    for pdf in batches:
        h = _matrix(pdf[hash_col])
        # Each band's value as an integer (big-endian, bits wide).
        packed = np.unpackbits(h, axis=1).reshape(len(h), bands, bits)
        weights = 1 << np.arange(bits - 1, -1, -1, dtype=np.int64)
        values = (packed.astype(np.int64) * weights).sum(axis=2)  # (n, bands)
        ids = pdf[id_col].to_numpy()
        n = len(ids)
        # Probe keys: every value within `radius` bits of each band (mask 0 is the value itself).
        probe = (values[:, :, None] ^ masks_arr[None, None, :]).reshape(-1)
        yield pd.DataFrame({
            "band": np.repeat(np.tile(np.arange(bands), n), len(masks)).astype(np.int32),
            "key": probe,
            "id": np.repeat(ids, bands * len(masks)),
            "base": np.tile(masks_arr == 0, n * bands),
        })


def _verify(batches: Iterator, threshold: int) -> Iterator:
    import pandas as pd

    for pdf in batches:
        if len(pdf) == 0:
            continue
        a, b = _matrix(pdf["ha"]), _matrix(pdf["hb"])
        d = distances(a, b).astype(np.int32)
        keep = d <= threshold
        yield pd.DataFrame({"a": pdf["a"][keep], "b": pdf["b"][keep], "distance": d[keep]})


def near_pairs(df, *, id_col: str = "id", hash_col: str = "hash", threshold: int = 31,
               bands: int = 16):
    """Every pair of rows whose PDQ hashes (32 bytes, `hash_col`) are within `threshold`, as a
    DataFrame `(a, b, distance)` with a < b: a band join, verified exactly.

    Each hash is split into `bands` bands of 256/bands bits. Two hashes within `threshold` agree
    within `threshold // bands` bits on at least one band (pigeonhole), so each hash emits its
    band values (the base keys) and every value within that radius of them (the probe keys);
    rows that share a (band, key) are candidates, and each candidate is checked with the exact
    distance kernel. Degenerate hashes (all zeros or all ones) are left out, as `hashsieve dedup`
    does.
    """
    from pyspark.sql import functions as F

    if 256 % bands:
        raise ValueError("bands must divide 256")
    radius = threshold // bands
    if radius > 2:
        raise ValueError(
            f"threshold {threshold} with {bands} bands needs probes within {radius} bits per band;"
            " use more bands (radius <= 2)")
    zeros, ones = bytes(32), b"\xff" * 32
    hashes = (df.select(F.col(id_col).alias("id"), F.col(hash_col).alias("hash"))
              .where((F.col("hash") != F.lit(zeros)) & (F.col("hash") != F.lit(ones))))
    schema = "band int, key long, id long, base boolean"
    keys = hashes.mapInPandas(lambda it: _band_keys(it, "hash", "id", bands, radius), schema)
    base = keys.where("base").select("band", "key", F.col("id").alias("b"))
    probe = keys.select("band", "key", F.col("id").alias("a"))
    cand = (probe.join(base, ["band", "key"]).where(F.col("a") < F.col("b"))
            .select("a", "b").distinct())
    ha = hashes.select(F.col("id").alias("a"), F.col("hash").alias("ha"))
    hb = hashes.select(F.col("id").alias("b"), F.col("hash").alias("hb"))
    joined = cand.join(ha, "a").join(hb, "b").select("a", "b", "ha", "hb")
    return joined.mapInPandas(lambda it: _verify(it, threshold), "a long, b long, distance int")


def connected_components(edges, *, max_iterations: int = 100):
    """Label propagation in Spark SQL: `(id, cluster)` for every id in `edges(a, b)`, the
    cluster being the smallest id of its connected component. Each round gives every id the
    smallest label among itself and its neighbours; it stops when no label changes."""
    from pyspark.sql import functions as F

    both = (edges.select(F.col("a").alias("src"), F.col("b").alias("dst"))
            .union(edges.select(F.col("b").alias("src"), F.col("a").alias("dst")))).cache()
    labels = both.select(F.col("src").alias("id")).distinct().withColumn("cluster", F.col("id"))
    labels = labels.localCheckpoint()
    for _ in range(max_iterations):
        from_neighbours = (both.join(labels, both.dst == labels.id)
                           .groupBy("src").agg(F.min("cluster").alias("n")))
        new = (labels.join(from_neighbours, labels.id == from_neighbours.src, "left")
               .select("id", F.least("cluster", F.coalesce("n", "cluster")).alias("cluster"))
               .localCheckpoint())
        changed = (new.join(labels.withColumnRenamed("cluster", "old"), "id")
                   .where("cluster != old").limit(1).count())
        labels = new
        if not changed:
            both.unpersist()
            return labels
    both.unpersist()
    raise RuntimeError(f"label propagation did not converge in {max_iterations} rounds")


def dedup(df, *, id_col: str = "id", hash_col: str = "hash", threshold: int = 31,
          bands: int = 16):
    """Single-linkage clusters of near-duplicate PDQ hashes, as `hashsieve dedup` computes them
    on one machine: a DataFrame `(id, cluster)` for every row in a cluster of two or more (the
    cluster is its smallest id). `id_col` holds longs, `hash_col` 32-byte binaries."""
    return connected_components(near_pairs(df, id_col=id_col, hash_col=hash_col,
                                           threshold=threshold, bands=bands))
