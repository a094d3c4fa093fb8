"""``stasc export``: a trained model to ONNX or TorchScript (waveform window in, probabilities out)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from stasc.export import export_model
from stasc.inference import CheckpointError

log = logging.getLogger(__name__)

EXAMPLE = """example:
  stasc export --model runs/sample --format onnx --out sample.onnx
  stasc export --model runs/sample/fold-0/checkpoints/best.ckpt --format torchscript --out sample.pt
  stasc predict --model sample.onnx clip.wav
"""


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a trained model to ONNX or TorchScript",
        description="Export a trained model with its feature pipeline: the graph takes one window of one "
        "channel view, Tensor (1, samples) float32 at the model's sample rate, and returns the class "
        "probabilities (mean over patches). Models with a feature that cannot run in the graph (CQT, HPSS) "
        "take the raw spectrogram of each of their features instead (inputs features_0, features_1, ...: "
        "for cqt-mfcc the CQT and the MFCC, each (1, rows, frames)). Class names, input kind, sample rate and window length are "
        "stored in the file and in FILE.json.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", type=Path, required=True,
                        help="a checkpoint, or a run folder (its fold-0 model, else its first finished split)")
    parser.add_argument("--format", choices=("onnx", "torchscript"), default="onnx", help="default: onnx")
    parser.add_argument("--out", type=Path, required=True, help="the file to write (.onnx or .pt)")
    parser.add_argument("--window-seconds", type=float, default=10.0,
                        help="window length the graph takes (default: 10, the training clip length)")
    parser.set_defaults(func=run)



def resolve_checkpoint(model: Path) -> Path:
    """A checkpoint path, or a run folder's fold-0 checkpoint, else its first finished split's."""
    if model.is_file():
        return model
    if model.is_dir():
        first = model / "fold-0" / "checkpoints" / "best.ckpt"
        if first.is_file():
            return first
        finished = [c for c in sorted(model.glob("*/checkpoints/best.ckpt")) if (c.parent.parent / "result.json").is_file()]
        if finished:
            return finished[0]
        raise CheckpointError(f"{model}: no finished split with checkpoints/best.ckpt; train it first")
    raise CheckpointError(f"{model}: no such checkpoint or run folder")


def run(args: argparse.Namespace) -> int:
    try:
        report = export_model(resolve_checkpoint(args.model), args.out, format=args.format,
                              window_seconds=args.window_seconds)
    except (CheckpointError, ValueError) as err:
        log.error("%s", err)
        return 2
    shapes = ", ".join(str(list(shape)) for shape in report.input_shapes)
    print(f"exported {report.format} ({report.input_kind} input {shapes}, "
          f"{report.sample_rate} Hz, {len(report.classes)} classes): {report.path}")
    return 0
