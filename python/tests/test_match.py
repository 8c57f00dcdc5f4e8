"""Lists, matching and dedup against brute-force numpy oracles; thread safety and GIL release."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

import hashsieve
from conftest import brute_force, flip_bits, planted_set, random_hashes


@pytest.fixture()
def data(tmp_path):
    """A 3000-hash list and 200 queries: half near a list hash (1..40 bits), half random."""
    rng = np.random.default_rng(5)
    hashes = random_hashes(3000, 1)
    near = [flip_bits(hashes[i], int(rng.integers(1, 41)), rng) for i in rng.choice(3000, 100)]
    queries = np.vstack([np.array(near), random_hashes(100, 2)])
    path = tmp_path / "list.hsl"
    ids = [f"id-{i}" for i in range(len(hashes))]
    report = hashsieve.HashList.build(path, hashes, ids, name="known", version="v1")
    assert report["hashes"] == 3000
    return path, hashes, queries


def test_build_open_info_verify(data):
    path, hashes, _ = data
    lst = hashsieve.HashList.open(path)
    lst.verify()
    assert lst.info["name"] == "known" and lst.info["version"] == "v1"
    assert lst.info["kind"] == "pdq" and len(lst) == lst.info["hashes"] == 3000
    # The list stores distinct hashes in its own order: compare as sets, and ids follow hashes.
    stored = lst.hashes()
    assert {r.tobytes() for r in stored} == {r.tobytes() for r in hashes}
    where = {r.tobytes(): i for i, r in enumerate(hashes)}
    for i in (0, 17, 2999):
        assert lst.entry_ids(i) == [f"id-{where[stored[i].tobytes()]}"]


@pytest.mark.parametrize("threshold", [0, 10, 31, 40])
@pytest.mark.parametrize("index", ["linear", "mih", "bktree"])
def test_query_batch_equals_brute_force(data, threshold, index):
    path, _, queries = data
    lst = hashsieve.HashList.open(path)
    m = hashsieve.Matcher()
    m.add_list(lst, threshold=threshold, index=index)
    stored = lst.hashes()
    expected = brute_force(queries, stored, threshold)
    r = m.query_batch(queries)
    got = set(zip(r.query.tolist(), r.entry.tolist(), r.distance.tolist()))
    assert got == expected
    assert r.list_names == (["known"] if len(r) else [])
    assert not r.skipped.any()
    for k in range(min(len(r), 5)):
        assert r.entry_ids(k) == lst.entry_ids(int(r.entry[k]))
    # One query at a time: the same matches, as objects.
    for qi in range(0, len(queries), 37):
        one = {(qi, x.entry_index, x.distance) for x in m.query(queries[qi])}
        assert one == {t for t in expected if t[0] == qi}
        assert {x.entry_index for x in m.query(hashsieve.Hash(queries[qi].tobytes().hex()))} == {
            t[1] for t in expected if t[0] == qi
        }


def test_quality_gate_and_dihedral_query(data):
    path, hashes, _ = data
    m = hashsieve.Matcher(min_pdq_quality=50)
    m.add_list(hashsieve.HashList.open(path))
    h = hashsieve.Hash(hashes[3].tobytes().hex())
    assert m.query(h, quality=20) == []
    assert [x.distance for x in m.query(h, quality=90)] == [0]
    r = m.query_batch(hashes[:2], qualities=np.array([10, 90], np.uint8))
    assert r.skipped.tolist() == [True, False]
    assert r.query.tolist() == [1]
    variants = [hashsieve.Hash(random_hashes(1, 50 + i)[0].tobytes().hex()) for i in range(7)]
    found = m.query([*variants[:4], h, *variants[4:]])
    assert [(x.distance, x.orientation) for x in found] == [(0, "flipx")]


def test_replace_and_remove_lists(tmp_path, data):
    path, hashes, _ = data
    m = hashsieve.Matcher()
    m.add_list(hashsieve.HashList.open(path))
    with pytest.raises(hashsieve.DuplicateListError):
        m.add_list(hashsieve.HashList.open(path))
    new = tmp_path / "v2.hsl"
    hashsieve.HashList.build(new, hashes[:10], name="known", version="v2")
    h = hashes[500]
    assert len(m.query(h)) >= 1
    m.replace_list(hashsieve.HashList.open(new))
    assert [l["version"] for l in m.lists] == ["v2"]
    assert all(x.entry_index < 10 for x in m.query(h))
    assert m.remove_list("known") and not m.remove_list("known")
    assert m.query(h) == []


def test_matcher_is_safe_to_share_across_threads(data):
    path, _, queries = data
    m = hashsieve.Matcher()
    m.add_list(hashsieve.HashList.open(path))
    serial = [sorted((x.entry_index, x.distance) for x in m.query(q)) for q in queries]
    results: dict[int, list] = {}

    def work(t):
        results[t] = [sorted((x.entry_index, x.distance) for x in m.query(q)) for q in queries]

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[t] == serial for t in range(4))


def test_query_batch_releases_the_gil(tmp_path):
    """While one thread is inside `query_batch`, another runs Python code.

    Not a timing test: the switch interval is set so long that the querying thread never gives the
    GIL up on its own; the main thread can run during the call only if the call released it.
    """
    hashes = random_hashes(200_000, 9)
    path = tmp_path / "big.hsl"
    hashsieve.HashList.build(path, hashes)
    m = hashsieve.Matcher()
    m.add_list(hashsieve.HashList.open(path), index="linear")
    queries = random_hashes(400, 10)
    started, done = threading.Event(), threading.Event()

    def work():
        started.set()
        m.query_batch(queries)
        done.set()

    old = sys.getswitchinterval()
    sys.setswitchinterval(30.0)
    try:
        t = threading.Thread(target=work)
        t.start()
        started.wait()
        ran = 0
        while not done.is_set():
            ran += 1
            threading.Event().wait(0.0005)  # blocks without the GIL, letting the worker finish
        t.join()
    finally:
        sys.setswitchinterval(old)
    assert ran > 0


def union_find_labels(hashes: np.ndarray, threshold: int) -> list[tuple[int, ...]]:
    """The dedup oracle: connected components of all pairs within the threshold, brute force."""
    n = len(hashes)
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i in range(n):
        d = np.unpackbits(np.bitwise_xor(hashes[i + 1 :], hashes[i]), axis=1).sum(axis=1)
        for j in np.nonzero(d <= threshold)[0]:
            parent[find(i)] = find(i + 1 + int(j))
    groups: dict[int, set[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), set()).add(i)
    return sorted(tuple(sorted(g)) for g in groups.values())


def partition(labels) -> list[tuple[int, ...]]:
    groups: dict[int, set[int]] = {}
    for i, l in enumerate(labels):
        groups.setdefault(int(l), set()).add(i)
    return sorted(tuple(sorted(g)) for g in groups.values())


@pytest.mark.parametrize("threshold", [8, 31])
def test_dedup_equals_connected_components(threshold):
    hashes = planted_set(clusters=20, size=6, noise=200, spread=20, seed=threshold)
    labels = hashsieve.dedup(hashes, threshold)
    assert labels.dtype == np.int64 and labels.shape == (len(hashes),)
    assert (labels >= 0).all()
    assert partition(labels) == union_find_labels(hashes, threshold)
    # A label is a member of its own cluster (the representative).
    assert all(labels[l] == l for l in labels)


def test_dedup_leaves_out_degenerate_and_low_quality_hashes():
    hashes = random_hashes(4, 3)
    hashes[1] = 0
    labels = hashsieve.dedup(hashes, 31, qualities=np.array([90, 90, 10, 90], np.uint8), min_quality=50)
    assert labels.tolist() == [0, -1, -1, 3]


def test_distances_kernel():
    a, b = random_hashes(50, 1), random_hashes(50, 2)
    expected = np.unpackbits(a ^ b, axis=1).sum(axis=1)
    assert hashsieve.distances(a, b).tolist() == expected.tolist()
