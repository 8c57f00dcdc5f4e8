"""PySpark on local[2]: the back-fill and the band-join dedup equal the `hashsieve` CLI."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import hashsieve
import hashsieve.spark
from conftest import flip_bits, photos, planted_set, random_hashes, require


@pytest.fixture(scope="session")
def spark():
    require("pyspark")
    require("pandas")
    require("pyarrow")
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("hashsieve-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.default.parallelism", "2")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.driver.memory", "1g")
               .getOrCreate())
    yield session
    session.stop()


def cli_match(bin_, list_path, files):
    run = subprocess.run([bin_, "match", "-l", str(list_path), "--format", "tsv", *map(str, files)],
                         capture_output=True, text=True)
    assert run.returncode in (0, 1), run.stderr
    lines = run.stdout.splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, l.split("\t"))) for l in lines[1:]]
    return {(r["query"], r["entry_id"], int(r["distance"])) for r in rows}


@pytest.fixture(scope="module")
def backfill_case(tmp_path_factory):
    """Photos and a list holding two of them exactly, one 12 bits away, and random hashes."""
    tmp = tmp_path_factory.mktemp("backfill")
    files = photos()[:10]
    rng = np.random.default_rng(3)
    known = [np.frombuffer(hashsieve.pdq(str(p))[0].to_bytes(), np.uint8) for p in files[:3]]
    known[2] = flip_bits(known[2], 12, rng)
    hashes = np.vstack([*known, random_hashes(500, 4)])
    list_path = tmp / "known.hsl"
    hashsieve.HashList.build(list_path, hashes, [f"k{i}" for i in range(len(hashes))],
                             name="known")
    bad = tmp / "not-an-image.png"
    bad.write_bytes(b"this is not an image")
    return list_path, files, bad


def test_backfill_equals_hashsieve_match(spark, backfill_case, hashsieve_bin):
    list_path, files, bad = backfill_case
    expected = cli_match(hashsieve_bin, list_path, files)
    assert len(expected) >= 3
    df = spark.createDataFrame([(str(p),) for p in [*files, bad]], "path string")
    out = hashsieve.spark.backfill(df, str(list_path)).toPandas()
    matches = out[out.error.isna()]
    got = {(r.key, r.entry_id, int(r.distance)) for r in matches.itertuples()}
    assert got == expected
    errors = out[out.error.notna()]
    assert errors.key.tolist() == [str(bad)]


def test_backfill_from_bytes(spark, backfill_case, hashsieve_bin):
    list_path, files, _ = backfill_case
    expected = cli_match(hashsieve_bin, list_path, files)
    rows = [(str(p), p.read_bytes()) for p in files]
    df = spark.createDataFrame(rows, "path string, content binary")
    out = hashsieve.spark.backfill(df, str(list_path), content_col="content").toPandas()
    assert {(r.key, r.entry_id, int(r.distance)) for r in out.itertuples()} == expected


def cli_clusters(bin_, hashes, threshold):
    text = "".join(f"{h.tobytes().hex()},{i}\n" for i, h in enumerate(hashes))
    run = subprocess.run([bin_, "dedup", "-", "--input-format", "hex", "--min-quality", "0",
                          "-t", str(threshold)], input=text, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    header = lines[0].split("\t")
    clusters: dict[str, set[int]] = {}
    for line in lines[1:]:
        r = dict(zip(header, line.split("\t")))
        clusters.setdefault(r["cluster"], set()).add(int(r["id"]))
    return sorted(tuple(sorted(c)) for c in clusters.values())


@pytest.mark.parametrize("threshold", [15, 31])
def test_band_join_dedup_equals_hashsieve_dedup(spark, hashsieve_bin, threshold):
    hashes = planted_set(clusters=12, size=5, noise=150, spread=threshold + 6, seed=threshold)
    hashes[7] = 0  # a degenerate hash is left out, as the CLI does
    expected = cli_clusters(hashsieve_bin, hashes, threshold)
    assert len(expected) >= 10
    df = spark.createDataFrame([(i, h.tobytes()) for i, h in enumerate(hashes)],
                               "id long, hash binary")
    out = hashsieve.spark.dedup(df, threshold=threshold).toPandas()
    got: dict[int, set[int]] = {}
    for r in out.itertuples():
        got.setdefault(int(r.cluster), set()).add(int(r.id))
    assert sorted(tuple(sorted(c)) for c in got.values()) == expected
    # The single-machine package call agrees.
    labels = hashsieve.dedup(hashes, threshold)
    local: dict[int, set[int]] = {}
    for i, l in enumerate(labels):
        if l >= 0:
            local.setdefault(int(l), set()).add(i)
    assert sorted(tuple(sorted(c)) for c in local.values() if len(c) > 1) == expected
