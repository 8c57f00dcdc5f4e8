#!/usr/bin/env python3
"""What HMA does per lookup request: python-threatexchange's PDQIndex.query, in process.

    python3 benches/peers/pdq_index_lookup.py LIST_TXT QUERIES_TXT [MAX_QUERIES] [MAX_SECONDS]

LIST_TXT holds one hex PDQ hash per line (the list), QUERIES_TXT the queries. Builds the index
(as HMA's index builder does: entries of (hash, content id)), then queries one hash at a time
until MAX_QUERIES (default 20000) or MAX_SECONDS (default 20) and prints:
    build_s  queries  lookups_per_s  p50_ms  p99_ms  matches
"""
import sys
import time

from threatexchange.signal_type.pdq.pdq_index import PDQIndex


def main() -> None:
    list_txt, queries_txt = sys.argv[1], sys.argv[2]
    max_queries = int(sys.argv[3]) if len(sys.argv) > 3 else 20000
    max_seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
    with open(list_txt) as f:
        entries = [(line.strip(), i) for i, line in enumerate(f) if line.strip()]
    with open(queries_txt) as f:
        queries = [line.strip() for line in f if line.strip()]
    t0 = time.perf_counter()
    index = PDQIndex(entries)
    build = time.perf_counter() - t0
    del entries
    lat = []
    matches = 0
    start = time.perf_counter()
    for i in range(max_queries):
        q = queries[i % len(queries)]
        t = time.perf_counter()
        matches += len(index.query(q))
        lat.append(time.perf_counter() - t)
        if time.perf_counter() - start > max_seconds:
            break
    total = time.perf_counter() - start
    lat.sort()
    p = lambda x: lat[min(len(lat) - 1, int(x * len(lat)))] * 1e3
    print(f"{build:.1f}\t{len(lat)}\t{len(lat) / total:.1f}\t{p(0.5):.3f}\t{p(0.99):.3f}\t{matches}")


if __name__ == "__main__":
    main()
