"""Make the bundled sample (``src/stasc/sample_data/esc10/``) from ESC-10 in ``../shared/data/esc10``.

    python scripts/make_sample.py [--source ../shared/data/esc10] [--rate 44100] [--compression 0.8]

All 400 clips, kept at their 44.1 kHz (``envsound`` hears the full band to 22 kHz since 2026-12-07;
``--rate`` resamples with soxr) and re-encoded as Ogg Vorbis at libsndfile's compression level 0.8
(15.5 MB instead of 41 MB). On every 4th clip, the 64 log-mel bands of ``envsound`` (its bands that
day) differ from the original's by 0.11–0.13 in natural-log power on average up to band 55 and by 0.33
in the top 8 (Vorbis cuts near 16 kHz at this level); the 22.05 kHz copy of 2026-12-02 lost the top 16
bands (1.3–1.8). So the package carries real environmental sound. ``labels.csv`` (official folds,
source-recording groups) and the CC BY 3.0 attribution (``LICENSE``) are copied unchanged.
``benchmarks/accuracy.py --data esc10-bundled`` measures the accuracy on this copy beside the original.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import soundfile as sf
from tqdm import tqdm

from stasc.audio import resample

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared" / "data" / "esc10")
    parser.add_argument("--out", type=Path, default=ROOT / "src" / "stasc" / "sample_data" / "esc10")
    parser.add_argument("--rate", type=int, default=44100)
    parser.add_argument("--compression", type=float, default=0.8, help="libsndfile Vorbis compression level, 0–1")
    args = parser.parse_args()
    lines = (args.source / "labels.csv").read_text().splitlines()
    files = [line.split(",")[0] for line in lines[1:]]
    (args.out / "audio").mkdir(parents=True, exist_ok=True)
    total = 0
    for name in tqdm(files, unit="clip"):
        samples, rate = sf.read(args.source / name, dtype="float32", always_2d=True)
        resampled = resample(samples.T, rate, args.rate).T  # stasc's soxr resampler: a no-op at equal rates
        target = args.out / name
        sf.write(target, resampled, args.rate, format="OGG", subtype="VORBIS", compression_level=args.compression)
        total += target.stat().st_size
    shutil.copy(args.source / "labels.csv", args.out / "labels.csv")
    shutil.copy(args.source / "LICENSE", args.out / "LICENSE")
    print(f"{len(files)} clips, {total / 1e6:.1f} MB → {args.out}")


if __name__ == "__main__":
    main()
