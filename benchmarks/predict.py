"""End-to-end prediction speed: decode → features → network → clip vote, PyTorch and ONNX, one run.

    python benchmarks/predict.py [--clips 4] [--widths 1.0,0.125] [--short-files 200] [--threads 2]
                                 [--out benchmarks/results/predict.json]

Long clips: for each width of the `mfcc-stap-mixup` network (1.0 is the paper's size, 0.125 the
`quick` preset's) a model with fitted normalisers and random weights (speed does not depend on the
weights) predicts the real 10-s stereo TUT clips of ../shared/data/tut2018-scenes as `stasc
predict` does, through the PyTorch `Predictor` and through its ONNX export run by onnxruntime
(waveform in, probabilities out). Reports clips/s, the real-time factor (seconds of audio per
second of compute) and how long the 10,800-file TAU 2019 evaluation set would take; the two
paths' probabilities are compared.

Many short files: the `envsound` network predicts ``--short-files`` real ESC-10 clips (~5 s,
44.1 kHz mono, ../shared/data/esc10) one file at a time (each file's windows alone through the
network, as stasc did before prediction batched across files) and as `stasc predict` does now
(the windows of consecutive files batched together); reports clips/s of both and the ratio.
Prints tables, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stasc.audio import load, load_views
from stasc.config import ExperimentConfig, load_experiment
from stasc.export import export_model
from stasc.exported import OnnxModel
from stasc.features.patches import Normalizer
from stasc.inference import FilePrediction, Predictor, predict_file, predict_files
from stasc.models import build_model

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TAU_EVAL_FILES = 10_800  # TAU Urban Acoustic Scenes 2019, evaluation set


def make_predictor(config: ExperimentConfig, clips: list[Path]) -> Predictor:
    """The preset's network with normalisers fitted on ``clips`` and random weights."""
    probe = Predictor(config, [str(i) for i in range(config.model.n_classes)],
                      [Normalizer(np.zeros(s.n_rows), np.ones(s.n_rows)) for s in config.input.features],
                      build_model(config.model))
    spectrograms = [probe.front_end.spectrograms(load_views(clip, probe.sample_rate)) for clip in clips]
    normalizers = [Normalizer.fit(view.numpy() for clip in spectrograms for view in clip[c])
                   for c in range(len(config.input.features))]
    torch.manual_seed(0)
    return Predictor(config, probe.classes, normalizers, build_model(config.model))


def timed(predict: Callable[[Path], FilePrediction], clips: list[Path]) -> tuple[float, list[np.ndarray]]:
    predict(clips[0])  # warm-up: allocations, onnxruntime's first-run graph optimisation
    start = time.perf_counter()
    outputs = [np.stack([w.probabilities for w in predict(c).windows]) for c in clips]
    return time.perf_counter() - start, outputs


def long_clip_rows(args: argparse.Namespace, tmp: Path) -> list[dict[str, float | str | int]]:
    clips = sorted((DATA / "tut2018-scenes" / "audio").glob("*.wav"))[: args.clips]
    seconds_of_audio = sum(load(c).seconds for c in clips)
    rows: list[dict[str, float | str | int]] = []
    for width in (float(w) for w in args.widths.split(",")):
        config = load_experiment("mfcc-stap-mixup", {"model": {"width_multiplier": width}})
        pytorch = make_predictor(config, clips)
        export_model([pytorch], tmp / f"w{width}.onnx", format="onnx", window_seconds=10.0)
        onnx = OnnxModel(tmp / f"w{width}.onnx", threads=args.threads)
        results = {}
        for name, model in (("pytorch", pytorch), ("onnx", onnx)):
            seconds, outputs = timed(lambda c, m=model: predict_file(m, c), clips)  # type: ignore[misc]
            results[name] = outputs
            rows.append({"width": width, "runtime": name, "clips": len(clips), "seconds": seconds,
                         "clips_per_s": len(clips) / seconds, "real_time_factor": seconds_of_audio / seconds,
                         "tau_eval_hours": TAU_EVAL_FILES * seconds / len(clips) / 3600})
        worst = max(float(np.abs(a - b).max()) for a, b in zip(results["pytorch"], results["onnx"]))
        for row in rows[-2:]:
            row["max_abs_diff_vs_pytorch"] = worst
        print(f"width {width}: done", flush=True)
    return rows


def short_file_rows(args: argparse.Namespace) -> list[dict[str, float | str | int]]:
    clips = sorted((DATA / "esc10" / "audio").glob("*.ogg"))[: args.short_files]
    model = make_predictor(load_experiment("envsound"), clips[:20])
    rows: list[dict[str, float | str | int]] = []
    one_by_one: list[np.ndarray] = []
    for mode in ("one file at a time", "batched across files"):
        list(predict_files(model, clips[:2]))  # warm-up
        start = time.perf_counter()
        if mode == "one file at a time":
            one_by_one = [predict_file(model, c).probabilities for c in clips]
            worst = 0.0
        else:
            batched = [r.probabilities for r in predict_files(model, clips)]  # type: ignore[union-attr]
            worst = max(float(np.abs(a - b).max()) for a, b in zip(one_by_one, batched))
        seconds = time.perf_counter() - start
        rows.append({"mode": mode, "files": len(clips), "seconds": seconds, "clips_per_s": len(clips) / seconds,
                     "max_abs_diff": worst})
    rows[1]["speed_up"] = rows[1]["clips_per_s"] / rows[0]["clips_per_s"]  # type: ignore[operator]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=4, help="10-s clips timed per row (default: 4)")
    parser.add_argument("--widths", default="1.0,0.125", help="network widths (default: 1.0,0.125)")
    parser.add_argument("--short-files", type=int, default=200, help="short ESC-10 files (default: 200; 0: skip)")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads (default: 2)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/predict.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        rows = long_clip_rows(args, Path(tmp)) if args.clips else []
    short = short_file_rows(args) if args.short_files else []
    machine = platform.processor() or platform.machine()
    if rows:
        print(f"\nEnd-to-end prediction, {args.clips} 10-s stereo clips (3 views), {args.threads} threads, {machine}")
        print(f"{'width':>6} {'runtime':>8} {'clips/s':>8} {'x real time':>12} {'TAU eval (h)':>13} {'max |Δp|':>9}")
        for r in rows:
            print(f"{r['width']:>6} {r['runtime']:>8} {r['clips_per_s']:>8.2f} {r['real_time_factor']:>12.1f} "
                  f"{r['tau_eval_hours']:>13.2f} {r['max_abs_diff_vs_pytorch']:>9.1e}")
    if short:
        print(f"\n{args.short_files} short files (ESC-10, ~5 s), envsound network, {args.threads} threads")
        print(f"{'mode':<22} {'clips/s':>8} {'seconds':>8} {'max |Δp|':>9}")
        for r in short:
            print(f"{r['mode']:<22} {r['clips_per_s']:>8.2f} {r['seconds']:>8.1f} {r['max_abs_diff']:>9.1e}")
        print(f"speed-up of batching: {short[1]['speed_up']:.1f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "threads": args.threads, "torch": torch.__version__,
                                    "long_clips": rows, "short_files": short}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
