#!/usr/bin/env bash
# Load benchmark of `hashsieve serve` on 127.0.0.1 with wrk (issue 14), against
# python-threatexchange's PDQ index queried in process (what HMA does per request).
#
#   benches/serve_load.sh [SIZE ...]        (default: 1000000 10000000)
#
# Needs wrk (Debian: apt-get install wrk) and, for the comparison, python3 with
# python-threatexchange (pip install threatexchange). Builds the release binary and the
# `serve_bench_data` example, writes synthetic data into a temporary directory (nothing is
# committed), and for each size prints:
#   raw_lookup  req/s  p50  p99       GET /m/raw_lookup, keep-alive, CONNS connections
#   v1_match    hashes/s (BATCH hashes per POST /v1/match)
#   h_hash      1080p JPEGs/s         POST /h/hash, 2 connections
#   python      lookups/s p50 p99     PDQIndex.query in process, one hash at a time
#   ratio       raw_lookup req/s over python lookups/s
# Bounded: each wrk run lasts DURATION seconds (default 10); python at most 20000 queries or
# 20 s. Client and server share the machine's cores: say how many when quoting the figures.
# Env: BUILD_DIR (see below), DURATION, CONNS (default 32), BATCH (default 1000), WRK_THREADS (default 1),
# SERVER_THREADS (default: all cores).
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[[ ${#sizes[@]} -gt 0 ]] || sizes=(1000000 10000000)
duration=${DURATION:-10}
conns=${CONNS:-32}
batch=${BATCH:-1000}
wrk_threads=${WRK_THREADS:-1}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }

# BUILD_DIR=target/debug reuses what `cargo test` built (the test profile: opt-level 3, with
# debug assertions) instead of building the release profile.
build_dir=${BUILD_DIR:-target/release}
if [[ -z ${BUILD_DIR:-} ]]; then
    cargo build --release --locked --bin hashsieve --example serve_bench_data >&2
fi
bin=$build_dir/hashsieve
dir=$(mktemp -d)
server=
cleanup() {
    [[ -n $server ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

# Requests/s and the 50th and 99th latency percentiles of a wrk --latency report.
summarise() {
    awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         /Non-2xx/ {bad=$NF} /Socket errors/ {err=$0}
         END {printf "%s\t%s\t%s\tnon2xx=%s\t%s\n", rps, p50, p99, bad+0, err}'
}

echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), client and server on the same cores"
for n in "${sizes[@]}"; do
    data=$dir/$n
    "$build_dir/examples/serve_bench_data" "$data" "$n" 10000 >&2
    threads=()
    [[ -n ${SERVER_THREADS:-} ]] && threads=(--threads "$SERVER_THREADS")
    "$bin" "${threads[@]}" serve --no-auth --bind 127.0.0.1:0 --max-concurrency 4096 \
        --list "$data/list.hsl" 2>"$data/server.log" &
    server=$!
    addr=
    for _ in $(seq 1 1200); do   # at most 10 minutes to open, check and index the list
        addr=$(grep -o '"addr":"[^"]*"' "$data/server.log" | head -1 | cut -d'"' -f4 || true)
        [[ -n $addr ]] && break
        kill -0 "$server" 2>/dev/null || { cat "$data/server.log" >&2; exit 2; }
        sleep 0.5
    done
    [[ -n $addr ]] || { echo "server did not start" >&2; exit 2; }
    url=http://$addr
    load_s=$(grep -o '"seconds":[0-9.]*' "$data/server.log" | head -1 | cut -d: -f2)
    echo "== $n PDQ hashes (server load + full check + index: ${load_s}s)"
    printf 'raw_lookup\t'
    wrk -t"$wrk_threads" -c"$conns" -d"${duration}s" --latency -s benches/serve/raw_lookup.lua \
        "$url" -- "$data/queries.txt" | summarise
    printf 'v1_match\t'
    wrk -t1 -c2 -d"${duration}s" --latency -s benches/serve/match_batch.lua "$url" \
        -- "$data/queries.txt" "$batch" | summarise | awk -v b="$batch" -F'\t' \
        '{printf "%.0f hashes/s (%s req/s of %d)\tp50 %s\tp99 %s\t%s\n", $1*b, $1, b, $2, $3, $4}'
    printf 'h_hash\t'
    wrk -t1 -c2 -d"${duration}s" --latency -s benches/serve/hash_upload.lua "$url" \
        -- "$data/photo_1080p.jpg" | summarise
    kill -TERM "$server"; wait "$server" || true; server=
    if python3 -c 'import threatexchange' 2>/dev/null; then
        printf 'python\t'
        python3 benches/peers/pdq_index_lookup.py "$data/list.txt" "$data/queries.txt"
    fi
    rm -rf "$data"
done
