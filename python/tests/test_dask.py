"""dask.distributed LocalCluster: the back-fill equals `hashsieve match`."""

from __future__ import annotations

import numpy as np

import hashsieve
from conftest import flip_bits, photos, random_hashes, require
from test_spark import cli_match


def test_dask_backfill_equals_hashsieve_match(tmp_path, hashsieve_bin):
    require("pandas")
    require("dask.bag")
    distributed = require("distributed")
    import hashsieve.dask

    files = photos()[:8]
    rng = np.random.default_rng(8)
    known = [np.frombuffer(hashsieve.pdq(str(p))[0].to_bytes(), np.uint8) for p in files[2:5]]
    known[0] = flip_bits(known[0], 9, rng)
    list_path = tmp_path / "known.hsl"
    hashes = np.vstack([*known, random_hashes(300, 6)])
    hashsieve.HashList.build(list_path, hashes, [f"d{i}" for i in range(len(hashes))], name="d")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff truncated")
    expected = cli_match(hashsieve_bin, list_path, files)
    assert len(expected) >= 3
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        out = hashsieve.dask.backfill([*map(str, files), str(bad)], str(list_path),
                                      client=client, partitions=3).compute()
    ok = out[out.error.isna()]
    assert {(r.key, r.entry_id, int(r.distance)) for r in ok.itertuples()} == expected
    assert out[out.error.notna()].key.tolist() == [str(bad)]
