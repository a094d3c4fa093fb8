"""``stasc export``: a trained model to ONNX or TorchScript (waveform window in, probabilities out)."""

from __future__ import annotations

import argparse
from pathlib import Path

from stasc.export import export_model
from stasc.loading import model_predictors

EXAMPLE = """examples:
  stasc export --model runs/envsound --format onnx --out envsound.onnx
  stasc export --model runs/envsound/fold-1/checkpoints/best.ckpt --format torchscript --out envsound.pt
  stasc predict --model envsound.onnx clip.wav
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a trained model to ONNX or TorchScript",
        description="Export a trained model with its feature pipeline: the graph takes one window of one "
        "channel view, Tensor (1, samples) float32 at the model's sample rate, and returns the class "
        "probabilities (mean over patches). A run folder exports its model as `predict --model RUN` uses it: "
        "the final model when it has one, else the average of its fold models, as one graph. Models with a "
        "feature that cannot run in the graph (CQT, HPSS, PCEN) take the raw spectrogram of each of their features "
        "instead (inputs features_0, features_1, ...: for cqt-mfcc the CQT and the MFCC, each (1, rows, frames)). "
        "Class names, input kind, sample rate and window length are stored in the file and in FILE.json.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, required=True, help="a checkpoint or a run folder")
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="default: onnx")
    parser.add_argument("--out", type=Path, required=True, help="the file to write (.onnx or .pt)")
    parser.add_argument("--window-seconds", type=float, default=10.0,
                        help="window length the graph takes (default: 10, the training clip length)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    report = export_model(model_predictors(args.model), args.out, format=args.format,
                          window_seconds=args.window_seconds)
    shapes = ", ".join(str(list(shape)) for shape in report.input_shapes)
    members = f", the average of {report.members} models" if report.members > 1 else ""
    print(f"exported {report.format} ({report.input_kind} input {shapes}, {report.sample_rate} Hz, "
          f"{len(report.classes)} classes{members}): {report.path}")
    return 0
