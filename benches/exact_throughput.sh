#!/usr/bin/env bash
# Hashing throughput: md5 + sha1 + pdq in one read (`hashsieve hash --algo md5,sha1,pdq`) against
# the usual three passes (`md5sum`, `sha1sum`, then `hashsieve hash --algo pdq`), on the same
# files, with a cold and a warm page cache where the OS lets us drop it (root only).
#
#   benches/exact_throughput.sh [DIR]   (default: a temporary copy of tests/data/corpus, N times)
#
# COPIES=N sets how many copies of the corpus photos the default set holds (default 20).
# Needs a release build: it runs `cargo build --release --locked` first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
bin=target/release/hashsieve
dir=${1:-}
if [ -z "$dir" ]; then
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    for i in $(seq 1 "${COPIES:-20}"); do
        mkdir -p "$dir/$i"
        cp tests/data/corpus/photo_*.* "$dir/$i/"
    done
fi
files=$(find "$dir" -type f | wc -l)
bytes=$(find "$dir" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "input: $files files, $bytes bytes in $dir"
drop() { [ "$(id -u)" = 0 ] && sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true; }
t() { local s e; s=$(date +%s.%N); "$@" > /dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
for cache in cold warm; do
    [ "$cache" = cold ] && drop
    one=$(t "$bin" hash --algo md5,sha1,pdq "$dir")
    [ "$cache" = cold ] && drop
    a=$(t sh -c "find '$dir' -type f -print0 | xargs -0 md5sum")
    b=$(t sh -c "find '$dir' -type f -print0 | xargs -0 sha1sum")
    c=$(t "$bin" hash --algo pdq "$dir")
    three=$(echo "$a + $b + $c" | bc)
    printf '%s cache: one read %.3f s; md5sum %.3f + sha1sum %.3f + pdq %.3f = %.3f s; ratio %.2fx\n' \
        "$cache" "$one" "$a" "$b" "$c" "$three" "$(echo "$three / $one" | bc -l)"
done
