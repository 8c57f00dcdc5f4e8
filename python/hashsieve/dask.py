"""Dask: the platform back-fill on `dask.distributed` (hash images, match them against a list).

The list is sent to every worker with `Client.upload_file` and memory-mapped once per worker
process; each partition of paths is hashed and matched in one `query_batch`. See python/README.md.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Optional

from . import _cache
from ._cache import COLUMNS
from ._hashsieve import hash_file


def _list_path(name: str, fallback: str) -> str:
    try:
        from distributed import get_worker

        local = os.path.join(get_worker().local_directory, name)
        if os.path.exists(local):
            return local
    except (ImportError, ValueError):  # not on a distributed worker: the path as given
        pass
    return fallback


def _match_partition(paths: Iterable[str], name: str, fallback: str,
                     threshold: Optional[int]) -> list[dict[str, Any]]:
    matcher = _cache.matcher_for(_list_path(name, fallback), threshold)
    rows = _cache.match_rows(matcher, ((p, p) for p in paths), hash_file)
    return [dict(zip(COLUMNS, row)) for row in rows]


def backfill(paths: Iterable[str], list_path: str, *, client: Any = None,
             partitions: Optional[int] = None, threshold: Optional[int] = None):
    """Hashes the images at `paths` (PDQ) and matches them against the list at `list_path`.

    Returns a lazy dask DataFrame with one row per (image, matched entry id), the rows
    `hashsieve match --format tsv` prints, plus one row with `error` set per image that could
    not be hashed. With a `client`, the list is uploaded to every worker first; without one,
    workers read `list_path` itself (shared storage).
    """
    import dask.bag as db
    import pandas as pd

    paths = [str(p) for p in paths]
    list_path = os.path.abspath(list_path)
    name = os.path.basename(list_path)
    if client is not None:
        client.upload_file(list_path, load=False)
    bag = db.from_sequence(paths, npartitions=partitions or max(1, min(len(paths), 8)))
    meta = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
        COLUMNS, ["object", "object", "object", "Int64", "Int32", "Int32", "object", "object"])})
    return bag.map_partitions(_match_partition, name, list_path, threshold).to_dataframe(meta=meta)
