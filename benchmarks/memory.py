"""Memory of the training data path as the dataset grows: it must stay flat.

    python benchmarks/memory.py [--clips 500,2000,8000] [--out benchmarks/results/memory.json]

For each size, a feature cache of that many clips (3 views × 128 MFCC × 431 frames, the paper's
mfcc2048 shape; values are random, the cache and loader code are the real ones) is written, then
one epoch of the training DataLoader (patches cut on the fly from the memory maps, batch 256) is
read in a fresh process. Reported: the process's anonymous memory (its own allocations, sampled
every batch; what must stay flat) and its file-backed pages at the end (the page cache of the
memory maps, which the kernel reclaims under pressure), beside the cache size on disk.
Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

READ_EPOCH = """
import sys, time
import numpy as np
from torch.utils.data import DataLoader
from stasc.features.cache import FeatureCache
from stasc.features.patches import Normalizer
from stasc.features.spec import FeatureSpec
from stasc.training.data import PatchDataset, PatchPlan
root, n = sys.argv[1], int(sys.argv[2])
cache = FeatureCache(root, FeatureSpec.named("mfcc2048"))
files = sorted(cache.entries())
norm = Normalizer(np.zeros((1, 128), np.float32), np.ones((1, 128), np.float32))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
before = status("RssAnon")
data = PatchDataset([cache], files, [0] * len(files), [norm], PatchPlan(128, 32, (128, 128)))
start, count, peak = time.perf_counter(), 0, before
for x, y, clip in DataLoader(data, batch_size=256, shuffle=True):
    count += len(x)
    peak = max(peak, status("RssAnon"))
print(len(data), count, before, peak, status("RssFile"), time.perf_counter() - start)
"""


def write_cache(root: Path, clips: int) -> int:
    from stasc.features.cache import FeatureCache
    from stasc.features.spec import FeatureSpec

    cache = FeatureCache(root, FeatureSpec.named("mfcc2048"))
    rng = np.random.default_rng(0)
    block = rng.standard_normal((3, 128, 431)).astype(np.float32)
    with cache.writer() as writer:
        for i in range(clips):
            writer.add(f"audio/clip{i:06d}.wav", block + i, source="synthetic")
    return sum(p.stat().st_size for p in cache.parts_dir.glob("*.npy"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default="500,2000,8000")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/memory.json"))
    args = parser.parse_args()
    rows = []
    for clips in (int(c) for c in args.clips.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            disk = write_cache(Path(tmp), clips)
            done = subprocess.run([sys.executable, "-c", READ_EPOCH, tmp, str(clips)], capture_output=True, text=True,
                                  check=True)
            patches, seen, before_kb, peak_kb, file_kb, seconds = done.stdout.split()
            rows.append({"clips": clips, "patches": int(patches), "cache_mb": disk / 2**20,
                         "anon_before_mb": int(before_kb) / 1024, "anon_peak_mb": int(peak_kb) / 1024,
                         "file_backed_mb": int(file_kb) / 1024, "seconds": float(seconds)})
    print(f"{'clips':>6} {'patches':>8} {'cache on disk':>14} {'anon before':>12} {'anon peak':>10} "
          f"{'growth':>8} {'page cache':>11} {'patches/s':>10}")
    for r in rows:
        print(f"{r['clips']:>6} {r['patches']:>8} {r['cache_mb']:>11.0f} MB {r['anon_before_mb']:>9.0f} MB "
              f"{r['anon_peak_mb']:>7.0f} MB {r['anon_peak_mb'] - r['anon_before_mb']:>5.0f} MB "
              f"{r['file_backed_mb']:>8.0f} MB {r['patches'] / r['seconds']:>10.0f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
