#!/usr/bin/env bash
# End-to-end JPEG hashing, one thread, in one run: hashsieve's criterion benches
# `hash/{pdq,phash}_jpeg/{exact,fast,image_rs}/{1080p,12mp}[_420]` against Pillow decode + pdqhash /
# imagehash.phash on the very same JPEG files (written by the bench to target/jpeg-bench/).
#
#   benches/peers/jpeg_e2e.sh                  # default features (jpeg-exact: C + our AVX2 kernels)
#   CARGO_ARGS="--profile test" ...             # reuse the test build (same opt-level)
#   CARGO_ARGS="--features jpeg-simd" benches/peers/jpeg_e2e.sh   # libjpeg-turbo's SIMD (needs nasm)
#
# The Python side runs in a virtualenv (PEERS_VENV, default /tmp/peersvenv) with pillow,
# pdqhash, imagehash and numpy; it is created if missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${PEERS_VENV:-/tmp/peersvenv}"
if ! "$VENV/bin/python" -c 'import PIL, pdqhash, imagehash, numpy' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q pillow pdqhash imagehash numpy
fi
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 RAYON_NUM_THREADS=1
# shellcheck disable=SC2086
cargo bench --bench hash ${CARGO_ARGS:-} -- '_jpeg/(exact|fast|image_rs)/' >&2
"$VENV/bin/python" benches/peers/jpeg_e2e.py target/jpeg-bench target/criterion
