#!/usr/bin/env bash
# Directory throughput of `hash` and `scan` (issue 16): images/s on a directory of 1,000 1080p
# JPEGs (made by `examples/photo_set.rs` from the bundled corpus photos; nothing committed), at
# 1 and 2 threads and at every core count up to `nproc` given in THREADS.
#
#   benches/pipeline.sh [HASHSIEVE_BINARY ...]
#
# With several binaries (say an older build beside the current one) each is timed in turn on the
# same files in the same run, so their ratio holds on a busy machine. Env: COUNT (default 1000),
# WIDTH/HEIGHT (default 1920 x 1080), THREADS (default "1 2"), ALGO (default pdq), DECODE
# (passed as --decode when set), RUNS (best of, default 3), KEEP=DIR (make the JPEGs in DIR and
# keep them; reused when it already holds them). The page cache is warm (each configuration runs
# once before it is timed).
set -euo pipefail
cd "$(dirname "$0")/.."

bins=("$@")
if [[ ${#bins[@]} -eq 0 ]]; then
    cargo build --release --locked --bin hashsieve >&2
    bins=(target/release/hashsieve)
fi
count=${COUNT:-1000}
if [[ -n "${KEEP:-}" ]]; then
    dir=$KEEP
else
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
fi
if [[ ! -d "$dir/jpegs" ]]; then
    cargo build --release --locked --example photo_set >&2
    target/release/examples/photo_set "$dir/jpegs" "$count" "${WIDTH:-1920}" "${HEIGHT:-1080}"
fi
count=$(find "$dir/jpegs" -type f | wc -l)
decode=()
[[ -z "${DECODE:-}" ]] || decode=(--decode "$DECODE")
# A PDQ list for scan: the hashes of the first 100 files, so that some files match.
"${bins[0]}" hash --algo pdq "$dir/jpegs" 2>/dev/null | head -101 > "$dir/list.tsv"
"${bins[0]}" build --algo pdq --name bench -o "$dir/list.hsl" "$dir/list.tsv" >&2

best() { # command... -> best wall seconds of RUNS runs
    local b='' s e t
    "$@" > /dev/null 2>&1 || true
    for _ in $(seq "${RUNS:-3}"); do
        s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N)
        t=$(echo "$e - $s" | bc -l)
        if [[ -z $b ]] || (( $(echo "$t < $b" | bc -l) )); then b=$t; fi
    done
    echo "$b"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "input: $count JPEGs of ${WIDTH:-1920}x${HEIGHT:-1080}, $(du -sm "$dir/jpegs" | cut -f1) MB"
printf '%-28s %-5s %8s %10s %10s\n' binary cmd threads seconds images/s
for t in ${THREADS:-1 2}; do
    for bin in "${bins[@]}"; do
        for cmd in hash scan; do
            if [[ $cmd == hash ]]; then
                args=(hash --algo "${ALGO:-pdq}" "${decode[@]}" "$dir/jpegs")
            else
                args=(scan --list "$dir/list.hsl" "${decode[@]}" "$dir/jpegs")
            fi
            secs=$(best "$bin" --threads "$t" "${args[@]}")
            printf '%-28s %-5s %8s %10.3f %10.1f\n' "$bin" "$cmd" "$t" "$secs" \
                "$(echo "$count / $secs" | bc -l)"
        done
    done
done
