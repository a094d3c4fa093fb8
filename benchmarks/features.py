"""Feature speed and librosa parity on the real TUT clips: stasc (1 and 2 threads, CUDA when
present) against librosa 0.11 in the same run, alternating so a busy second core hurts both.

    python benchmarks/features.py [--clips 10] [--librosa-hpss-clips 3] [--repeats 5] [--seconds 4]
                                  [--out benchmarks/results/features.json]

Prints a table of seconds per 10-s stereo clip (3 views), the ratios to librosa, the parity
figures, and the projected time to featurise all 14,400 TAU 2019 clips; writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
import soxr
import torch
from threadpoolctl import threadpool_limits

from stasc.features.registry import build_transform, parse_feature

TAU_CLIPS = 14400
FEATURES = ("mfcc2048", "mfcc1024", "cqt", "hpss_mfcc2048")
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "tut2018-scenes" / "audio"


def decode(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float32")
    stereo = soxr.resample(data, rate, 44100, quality="HQ").T
    return np.stack([stereo[0], stereo[1], 0.5 * (stereo[0] + stereo[1])]).astype(np.float32)


def librosa_feature(name: str, views: np.ndarray) -> np.ndarray:
    """The reference: librosa on each view, exactly as SPEC §2 defines the feature."""
    out = []
    for view in views:
        if name in ("mfcc2048", "mfcc1024"):
            n_fft = 2048 if name == "mfcc2048" else 1024
            out.append(librosa.feature.mfcc(y=view, sr=44100, n_mfcc=128, n_fft=n_fft, hop_length=n_fft // 2))
        elif name == "cqt":
            magnitude = np.abs(librosa.cqt(view, sr=44100, hop_length=512, n_bins=110, filter_scale=4))
            out.append(librosa.amplitude_to_db(magnitude, ref=np.max))
        else:
            harmonic, percussive = librosa.effects.hpss(view, kernel_size=31)
            for part in (harmonic, percussive):
                out.append(librosa.feature.mfcc(y=part, sr=44100, n_mfcc=128, n_fft=2048, hop_length=1024))
    return np.stack(out)


def parity(name: str, ours: np.ndarray, ref: np.ndarray) -> dict[str, float]:
    if name == "cqt":
        delta = np.abs(ours - ref)
        return {"mean_abs_db": float(delta.mean()), "p99_abs_db": float(np.percentile(delta, 99))}
    return {"relative_error": float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))}


def timed(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=10)
    parser.add_argument("--librosa-hpss-clips", type=int, default=3, help="librosa HPSS costs ~3 s a clip")
    parser.add_argument("--batch", type=int, default=4, help="clips per stasc batch")
    parser.add_argument("--repeats", type=int, default=5, help="fewest rounds per feature; the best round counts")
    parser.add_argument("--seconds", type=float, default=4.0,
                        help="keep adding rounds (up to 40) until a feature has been timed this long: the second "
                             "core's load comes and goes, and more alternating rounds let both sides find a quiet one")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/features.json"))
    args = parser.parse_args()

    paths = sorted(DATA.glob("*.wav"))[: args.clips]
    start = time.perf_counter()
    clips = [decode(p) for p in paths]
    decode_seconds = (time.perf_counter() - start) / len(paths)
    batch = torch.from_numpy(np.stack(clips[: args.batch]))
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results: dict[str, dict] = {}
    for name in FEATURES:
        spec = parse_feature(name)
        row: dict[str, object] = {}
        n_ref = args.librosa_hpss_clips if name == "hpss_mfcc2048" else len(clips)
        transform = build_transform(spec)
        # alternate ours and librosa per round so both see the same background load
        ours_1, ours_2, ref_1 = [], [], []
        started = time.perf_counter()
        while len(ref_1) < args.repeats or (time.perf_counter() - started < args.seconds and len(ref_1) < 40):
            with torch.inference_mode():
                torch.set_num_threads(1)
                ours_1.append(timed(lambda t=transform, b=batch: t(b), 1) / len(batch))
                torch.set_num_threads(2)
                ours_2.append(timed(lambda t=transform, b=batch: t(b), 1) / len(batch))
            with threadpool_limits(1):
                ref_1.append(timed(lambda n=name: librosa_feature(n, clips[0]), 1))
        row["rounds"] = len(ref_1)
        row["stasc_1thread_s"] = min(ours_1)
        row["stasc_2threads_s"] = min(ours_2)
        row["librosa_1thread_s"] = min(ref_1)
        for device in devices[1:]:
            gpu = build_transform(spec).to(device)
            gpu_batch = batch.to(device)
            with torch.inference_mode():
                gpu(gpu_batch)
                torch.cuda.synchronize()
                start = time.perf_counter()
                for _ in range(5):
                    gpu(gpu_batch)
                torch.cuda.synchronize()
            row["stasc_cuda_s"] = (time.perf_counter() - start) / 5 / len(batch)
        # parity on every clip librosa computes here (float32 product vs librosa's float32 path)
        figures = []
        torch.set_num_threads(2)
        with torch.inference_mode():
            for clip in clips[:n_ref]:
                ours = transform(torch.from_numpy(clip)).numpy()
                figures.append(parity(name, ours.astype(np.float64), librosa_feature(name, clip).astype(np.float64)))
        row["parity_worst"] = {k: max(f[k] for f in figures) for k in figures[0]}
        row["parity_clips"] = n_ref
        best_ours = min(row["stasc_1thread_s"], row["stasc_2threads_s"], row.get("stasc_cuda_s", float("inf")))
        row["speedup_vs_librosa"] = row["librosa_1thread_s"] / best_ours
        row["tau_hours_stasc"] = TAU_CLIPS * (best_ours + decode_seconds) / 3600
        row["tau_hours_librosa"] = TAU_CLIPS * (row["librosa_1thread_s"] + decode_seconds) / 3600
        results[name] = row
        print(f"{name}: done", flush=True)

    header = (f"{'feature':<14} {'stasc 1t':>9} {'stasc 2t':>9} {'cuda':>8} {'librosa':>9} {'speed-up':>9} "
              f"{'TAU h stasc':>12} {'TAU h librosa':>14}  parity (worst clip)")
    rounds = [r["rounds"] for r in results.values()]
    print(f"\nseconds per 10-s stereo clip (3 views), batch {args.batch}, best of {min(rounds)}-{max(rounds)} "
          f"alternating rounds; decode+resample {decode_seconds:.3f} s/clip")
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        cuda = f"{row['stasc_cuda_s']:.4f}" if "stasc_cuda_s" in row else "-"
        figures = ", ".join(f"{k} {v:.2e}" for k, v in row["parity_worst"].items())
        print(
            f"{name:<14} {row['stasc_1thread_s']:>9.4f} {row['stasc_2threads_s']:>9.4f} {cuda:>8} "
            f"{row['librosa_1thread_s']:>9.4f} {row['speedup_vs_librosa']:>8.1f}x {row['tau_hours_stasc']:>12.2f} "
            f"{row['tau_hours_librosa']:>14.2f}  {figures}"
        )
    machine = {"platform": platform.platform(), "processor": platform.processor(), "cpus": torch.get_num_threads(),
               "torch": torch.__version__, "librosa": librosa.__version__,
               "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"machine": machine, "decode_resample_s": decode_seconds, "features": results}
    args.out.write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
