#!/usr/bin/env bash
# Peak memory (RSS) and wall time of `hashsieve hash` on decompression bombs and real photos,
# measured with /usr/bin/time -v (issue 10, section 3: any input under 1 MB stays under 300 MB
# of RSS with default limits, whatever the thread count).
#
#   benches/decode_memory.sh [HASHSIEVE_BINARY]
#
# Builds the release binary and the `decode_bombs` example if needed, writes the inputs into a
# temporary directory (nothing is committed), and prints one line per run:
#   input  bytes  threads  exit  peak_rss_MB  wall_s
# Runs each input alone on 1 thread, then 8 copies of each 13000 x 13000 input, of the ICC bomb
# and of the 12 MP photo at 1, 2 and 4 threads (RAYON_NUM_THREADS). With HEAVY=1 it also runs
# the many-thread rows of the README: 32 ICC bombs at 32 threads, 16 12 MP photos at 16.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${1:-target/release/hashsieve}
if [[ $# -eq 0 ]]; then
    cargo build --release --locked --bin hashsieve --example decode_bombs >&2
fi
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 2; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
target/release/examples/decode_bombs "$dir" >&2

measure() { # label threads files...
    local label=$1 threads=$2; shift 2
    local bytes log rc
    bytes=$(stat -c %s "$1")
    log=$(mktemp)
    set +e
    RAYON_NUM_THREADS=$threads /usr/bin/time -v "$bin" hash "$@" >/dev/null 2>"$log"
    rc=$?
    set -e
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2 / 1024}' "$log")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" |
        awk -F: '{ if (NF == 3) printf "%.2f", $1 * 3600 + $2 * 60 + $3; else printf "%.2f", $1 * 60 + $2 }')
    printf '%-26s %9s %7s %4s %11s %7s\n' "$label" "$bytes" "$threads" "$rc" "$rss" "$wall"
    rm -f "$log"
}

printf '%-26s %9s %7s %4s %11s %7s\n' input bytes threads exit peak_rss_MB wall_s
for f in "$dir"/*; do
    measure "$(basename "$f")" 1 "$f"
done
for f in "$dir"/*13000* "$dir"/png_icc_bomb.png "$dir"/jpeg_12mp.jpg; do
    copies=()
    for i in 1 2 3 4 5 6 7 8; do
        cp "$f" "$dir/copy$i-$(basename "$f")"
        copies+=("$dir/copy$i-$(basename "$f")")
    done
    for t in 1 2 4; do
        measure "8x $(basename "$f")" "$t" "${copies[@]}"
    done
    rm -f "${copies[@]}"
done
copies_at() { # file copies threads
    local f=$1 n=$2 t=$3 copies=()
    for ((i = 1; i <= n; i++)); do
        cp "$f" "$dir/copy$i-$(basename "$f")"
        copies+=("$dir/copy$i-$(basename "$f")")
    done
    measure "${n}x $(basename "$f")" "$t" "${copies[@]}"
    rm -f "${copies[@]}"
}
if [[ ${HEAVY:-0} == 1 ]]; then
    copies_at "$dir"/png_icc_bomb.png 32 32
    copies_at "$dir"/jpeg_12mp.jpg 16 16
fi
