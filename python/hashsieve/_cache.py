"""One memory-mapped list and matcher per executor process, shared by every task it runs, and
the back-fill rows (`hashsieve match --format tsv`) that the Spark and Dask layers build with it."""

from __future__ import annotations

import threading
from typing import Any, Callable, Iterable, Optional

import numpy as np

from ._hashsieve import HashList, HashsieveError, Matcher

COLUMNS = ("key", "list", "entry_id", "entry_index", "distance", "quality", "hash", "error")

_lock = threading.Lock()
_matchers: dict[tuple[str, Optional[int]], Matcher] = {}


def matcher_for(path: str, threshold: Optional[int] = None) -> Matcher:
    """The process's matcher over the list at `path`, opened (and checked) on first use."""
    key = (path, threshold)
    with _lock:
        m = _matchers.get(key)
        if m is None:
            m = Matcher()
            m.add_list(HashList.open(path), threshold=threshold)
            _matchers[key] = m
        return m


def opened() -> int:
    """How many lists this process has opened (for tests: once per executor)."""
    return len(_matchers)


def match_rows(matcher: Matcher, images: Iterable[tuple[Any, Any]],
               hash_image: Callable[[Any], dict]) -> list[tuple]:
    """Hashes each `(key, source)` image with `hash_image` (PDQ) and matches them all in one
    `query_batch`. Returns rows in `COLUMNS` order: first one with `error` set per image that
    could not be hashed, then one per (image, matched entry id)."""
    rows: list[tuple] = []
    keys, hashes, qualities = [], [], []
    for key, src in images:
        try:
            h, q = hash_image(src)["pdq"]
        except HashsieveError as e:  # one bad file does not stop the batch
            rows.append((key, None, None, None, None, None, None, str(e)))
            continue
        keys.append(key)
        hashes.append(np.frombuffer(h.to_bytes(), np.uint8))
        qualities.append(q)
    if hashes:
        r = matcher.query_batch(np.vstack(hashes), np.array(qualities, np.uint8))
        for k in range(len(r)):
            qi = int(r.query[k])
            for eid in r.entry_ids(k):
                rows.append((keys[qi], r.list_names[int(r.list[k])], eid, int(r.entry[k]),
                             int(r.distance[k]), int(qualities[qi]), hashes[qi].tobytes().hex(),
                             None))
    return rows
