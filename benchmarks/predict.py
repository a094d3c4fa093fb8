"""End-to-end prediction speed: decode → features → network → clip vote, PyTorch and ONNX, one run.

    python benchmarks/predict.py [--clips 4] [--widths 1.0,0.125] [--threads 2] [--out benchmarks/results/predict.json]

For each width of the `mfcc-stap-mixup` network (1.0 is the paper's size, 0.125 the `quick`
preset's) a checkpoint with fitted normalisers and random weights (speed does not depend on the
weights) is written, then the real 10-s stereo TUT clips of ../shared/data/tut2018-scenes are
predicted file by file as `stasc predict` does it: through the PyTorch `Predictor` and through the
ONNX export run by onnxruntime (waveform in, probabilities out). Reports clips/s, the real-time
factor (seconds of audio per second of compute; > 1 is faster than real time) and how long the
10,800-file TAU 2019 evaluation set would take. The two paths' probabilities are compared too.
Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from stasc.audio import channel_views, load, resample
from stasc.config import load_experiment, parse_assignments
from stasc.export import OnnxPredictor, export_model
from stasc.features.patches import Normalizer
from stasc.features.transforms import build_transform
from stasc.inference import Predictor
from stasc.models import build_model

SCENES = Path(__file__).resolve().parents[2] / "shared" / "data" / "tut2018-scenes"
TAU_EVAL_FILES = 10_800  # TAU Urban Acoustic Scenes 2019, evaluation set


def make_checkpoint(width: float, clips: list[Path], out: Path) -> Path:
    """A loadable checkpoint: the preset at ``width``, normalisers fitted on ``clips``, random weights."""
    config = load_experiment("mfcc-stap-mixup", parse_assignments([f"model.width_multiplier={width}"]))
    spec = config.input.features[0]
    transform = build_transform(spec)
    spectrograms = []
    for clip in clips:
        audio = load(clip)
        views = channel_views(torch.from_numpy(resample(audio.samples, audio.sample_rate, spec.sample_rate)))
        spectrograms += [s[None].numpy() for s in transform(views)]
    torch.manual_seed(0)
    classes = [str(i) for i in range(config.model.n_classes)]
    return Predictor(config, classes, [Normalizer.fit(spectrograms)], build_model(config.model)).save(out)


def timed(predict, clips: list[Path]) -> tuple[float, list[np.ndarray]]:  # type: ignore[no-untyped-def]
    predict(clips[0])  # warm-up: allocations, onnxruntime's first-run graph optimisation
    start = time.perf_counter()
    outputs = [np.stack([w.probabilities for w in predict(c).windows]) for c in clips]
    return time.perf_counter() - start, outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=int, default=4, help="clips timed per row (default: 4)")
    parser.add_argument("--widths", default="1.0,0.125", help="network widths (default: 1.0,0.125)")
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads (default: 2)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/predict.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    clips = sorted((SCENES / "audio").glob("*.wav"))[: args.clips]
    if not clips:
        raise SystemExit(f"no clips under {SCENES / 'audio'}")
    seconds_of_audio = sum(load(c).samples.shape[-1] / load(c).sample_rate for c in clips)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for width in (float(w) for w in args.widths.split(",")):
            checkpoint = make_checkpoint(width, clips, Path(tmp) / f"w{width}.ckpt")
            pytorch = Predictor.from_checkpoint(checkpoint, batch_size=64)
            export_model(checkpoint, Path(tmp) / f"w{width}.onnx", format="onnx", window_seconds=10.0)
            onnx = OnnxPredictor(Path(tmp) / f"w{width}.onnx", threads=args.threads)
            results = {}
            for name, model in (("pytorch", pytorch), ("onnx", onnx)):
                seconds, outputs = timed(lambda c, m=model: m.predict_file(c, window_seconds=10.0, hop_seconds=10.0), clips)
                results[name] = outputs
                rows.append({"width": width, "runtime": name, "clips": len(clips), "seconds": seconds,
                             "clips_per_s": len(clips) / seconds, "real_time_factor": seconds_of_audio / seconds,
                             "tau_eval_hours": TAU_EVAL_FILES * seconds / len(clips) / 3600})
            worst = max(float(np.abs(a - b).max()) for a, b in zip(results["pytorch"], results["onnx"]))
            for row in rows[-2:]:
                row["max_abs_diff_vs_pytorch"] = worst
            print(f"width {width}: done", flush=True)
    header = f"{'width':>6} {'runtime':>8} {'clips/s':>8} {'x real time':>12} {'TAU eval (h)':>13} {'max |Δp|':>9}"
    print(f"\nEnd-to-end prediction, {len(clips)} 10-s stereo clips (3 views), {args.threads} threads, "
          f"{platform.processor() or platform.machine()}")
    print(header)
    for r in rows:
        print(f"{r['width']:>6} {r['runtime']:>8} {r['clips_per_s']:>8.2f} {r['real_time_factor']:>12.1f} "
              f"{r['tau_eval_hours']:>13.2f} {r['max_abs_diff_vs_pytorch']:>9.1e}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": platform.platform(), "threads": args.threads, "torch": torch.__version__,
                                    "rows": rows}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
