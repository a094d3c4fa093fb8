"""Memory as the data grows: training from the cache, and prediction on long recordings. Both must stay flat.

    python benchmarks/memory.py [--clips 500,2000,8000] [--recordings 10s,10m,1h,3h]
                                [--out benchmarks/results/memory.json]

Training: for each size, a feature cache of that many clips (3 views × 128 MFCC × 431 frames, the
paper's mfcc2048 shape; values are random, the cache and loader code are the real ones) is
written, then one epoch of the training DataLoader (patches cut on the fly from the memory maps,
batch 256) is read in a fresh process. Reported: the process's anonymous memory (its own
allocations, sampled every batch; what must stay flat) and its file-backed pages at the end (the
page cache of the memory maps, which the kernel reclaims under pressure), beside the cache size.

Prediction: for each length, a 48 kHz stereo 16-bit WAV of real street audio (the TUT clips of
../shared/data repeated) is predicted in a fresh process by the `mfcc-stap-mixup` network at 1/16
width (random weights: memory does not depend on them), 10-s windows, as `stasc predict` runs it;
reported: the process's peak resident memory (VmHWM) and the time. Prints tables, writes JSON.
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
from stasc.config import load_experiment
from stasc.features.cache import FeatureCache
from stasc.features.frontend import FrontEnd
from stasc.features.patches import Normalizer
from stasc.features.registry import parse_feature
from stasc.training.data import PatchDataset
root, n = sys.argv[1], int(sys.argv[2])
cache = FeatureCache(root, parse_feature("mfcc2048"))
files = sorted(cache.entries())
front = FrontEnd(load_experiment("mfcc").input, [Normalizer(np.zeros(128, np.float32), np.ones(128, np.float32))])
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
before = status("RssAnon")
data = PatchDataset([cache], files, [0] * len(files), front)
start, count, peak = time.perf_counter(), 0, before
for x, y, clip in DataLoader(data, batch_size=256, shuffle=True):
    count += len(x)
    peak = max(peak, status("RssAnon"))
print(len(data), count, before, peak, status("RssFile"), time.perf_counter() - start)
"""


def write_cache(root: Path, clips: int) -> int:
    from stasc.features.cache import FeatureCache
    from stasc.features.registry import parse_feature

    cache = FeatureCache(root, parse_feature("mfcc2048"))
    rng = np.random.default_rng(0)
    block = rng.standard_normal((3, 128, 431)).astype(np.float32)
    with cache.writer() as writer:
        for i in range(clips):
            writer.add(f"audio/clip{i:06d}.wav", block + i, source="synthetic")
    return sum(p.stat().st_size for p in cache.parts_dir.glob("*.npy"))


PREDICT_RECORDING = """
import sys, time
import numpy as np, torch
from stasc.config import load_experiment
from stasc.features.patches import Normalizer
from stasc.allocator import return_large_buffers_to_the_system
from stasc.inference import Predictor, predict_files
from stasc.models import build_model
return_large_buffers_to_the_system()  # as stasc does
torch.manual_seed(0)
config = load_experiment("mfcc-stap-mixup", {"model": {"width_multiplier": 0.0625}})
model = Predictor(config, [str(i) for i in range(10)], [Normalizer(np.zeros(128), np.full(128, 20.0))],
                  build_model(config.model))
start = time.perf_counter()
(result,) = predict_files(model, [sys.argv[1]], window_seconds=10, hop_seconds=10)
seconds = time.perf_counter() - start
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(len(result.windows), peak, seconds)
"""

SCENES = Path(__file__).resolve().parents[2] / "shared" / "data" / "tut2018-scenes" / "audio"


def parse_length(text: str) -> float:
    """``10s``, ``10m``, ``3h`` → seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]]


def write_recording(path: Path, seconds: float) -> None:
    """A 48 kHz stereo 16-bit WAV of ``seconds``: the real TUT clips one after another, block by block."""
    import soundfile as sf

    clips = [sf.read(clip, dtype="float32")[0] for clip in sorted(SCENES.glob("*.wav"))]
    total, written = round(seconds * 48000), 0
    with sf.SoundFile(path, "w", samplerate=48000, channels=2, subtype="PCM_16") as out:
        while written < total:
            clip = clips[(written // 480000) % len(clips)][: total - written]
            out.write(clip)
            written += len(clip)


def prediction_rows(lengths: list[str]) -> list[dict[str, float | str]]:
    rows: list[dict[str, float | str]] = []
    for text in lengths:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "long.wav"
            write_recording(path, parse_length(text))
            done = subprocess.run([sys.executable, "-c", PREDICT_RECORDING, str(path)], capture_output=True, text=True,
                                  check=True)
            windows, peak_kb, seconds = done.stdout.split()
            rows.append({"length": text, "seconds_of_audio": parse_length(text), "file_mb": path.stat().st_size / 1e6,
                         "windows": int(windows), "peak_rss_mb": int(peak_kb) / 1024, "seconds": float(seconds)})
            print(f"recording {text}: done", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", default="500,2000,8000", help="training-cache sizes ('' for none)")
    parser.add_argument("--recordings", default="10s,10m,1h,3h", help="recording lengths to predict ('' for none)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/memory.json"))
    args = parser.parse_args()
    rows = []
    for clips in (int(c) for c in args.clips.split(",") if c):
        with tempfile.TemporaryDirectory() as tmp:
            disk = write_cache(Path(tmp), clips)
            done = subprocess.run([sys.executable, "-c", READ_EPOCH, tmp, str(clips)], capture_output=True, text=True,
                                  check=True)
            patches, _, before_kb, peak_kb, file_kb, seconds = done.stdout.split()
            rows.append({"clips": clips, "patches": int(patches), "cache_mb": disk / 2**20,
                         "anon_before_mb": int(before_kb) / 1024, "anon_peak_mb": int(peak_kb) / 1024,
                         "file_backed_mb": int(file_kb) / 1024, "seconds": float(seconds)})
    print(f"{'clips':>6} {'patches':>8} {'cache on disk':>14} {'anon before':>12} {'anon peak':>10} "
          f"{'growth':>8} {'page cache':>11} {'patches/s':>10}")
    for r in rows:
        print(f"{r['clips']:>6} {r['patches']:>8} {r['cache_mb']:>11.0f} MB {r['anon_before_mb']:>9.0f} MB "
              f"{r['anon_peak_mb']:>7.0f} MB {r['anon_peak_mb'] - r['anon_before_mb']:>5.0f} MB "
              f"{r['file_backed_mb']:>8.0f} MB {r['patches'] / r['seconds']:>10.0f}")
    predicted = prediction_rows([t for t in args.recordings.split(",") if t])
    print(f"\n{'recording':>9} {'file':>9} {'windows':>8} {'peak RSS':>9} {'seconds':>8} {'x real time':>12}")
    for r in predicted:
        print(f"{r['length']:>9} {r['file_mb']:>6.0f} MB {r['windows']:>8} {r['peak_rss_mb']:>6.0f} MB "
              f"{r['seconds']:>8.1f} {float(r['seconds_of_audio']) / float(r['seconds']):>12.0f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"training": rows, "prediction": predicted}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
