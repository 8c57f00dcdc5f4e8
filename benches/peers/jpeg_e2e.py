"""Times Pillow decode + pdqhash / imagehash.phash on the bench JPEGs and prints the ratios to
hashsieve's criterion medians (run by jpeg_e2e.sh, which runs the Rust benches first)."""
import glob
import json
import os
import statistics
import sys
import time

import imagehash
import numpy as np
import pdqhash
import PIL
import PIL.features
from PIL import Image


def pdq_file(path):
    rgb = Image.open(path).convert("RGB")
    return pdqhash.compute(np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)))


def phash_file(path):
    return imagehash.phash(Image.open(path).convert("RGB"))


def median_seconds(fn, path, budget=3.0, min_runs=5):
    fn(path)  # warm up
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < budget:
        t = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t)
        if len(times) >= 200:
            break
    return statistics.median(times)


def criterion_medians(root):
    out = {}
    for bench in glob.glob(os.path.join(root, "**", "new", "benchmark.json"), recursive=True):
        with open(bench) as f:
            full_id = json.load(f)["full_id"]
        with open(os.path.join(os.path.dirname(bench), "estimates.json")) as f:
            out[full_id] = json.load(f)["median"]["point_estimate"] / 1e9
    return out


def main():
    jpeg_dir, criterion_dir = sys.argv[1], sys.argv[2]
    ours = criterion_medians(criterion_dir)
    print(f"Pillow {PIL.__version__} (libjpeg-turbo {PIL.features.version('libjpeg_turbo')}), "
          f"pdqhash, imagehash {imagehash.__version__}; one thread; medians\n")
    print("| hash | size | Pillow + reference | exact | fast | image_rs | exact ratio | fast ratio | image_rs ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for algo, fn in [("pdq", pdq_file), ("phash", phash_file)]:
        for size in ["1080p", "12mp", "1080p_420", "12mp_420"]:
            path = os.path.join(jpeg_dir, f"{size}.jpg")
            ref = median_seconds(fn, path)
            row = [algo, size, f"{ref * 1e3:.1f} ms"]
            ratios = []
            for mode in ["exact", "fast", "image_rs"]:
                t = ours.get(f"hash/{algo}_jpeg/{mode}/{size}")
                row.append(f"{t * 1e3:.2f} ms" if t else "-")
                ratios.append(f"{ref / t:.1f}x" if t else "-")
            print("| " + " | ".join(row + ratios) + " |")


if __name__ == "__main__":
    main()
