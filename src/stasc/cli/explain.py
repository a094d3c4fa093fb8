"""``stasc explain``: a picture of the attention that decided a prediction."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stasc.explain import explain_file, plot_explanation
from stasc.inference import Predictor, load_model


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="draw the attention (time and frequency bands) behind a prediction",
        description="For the first window of a recording: the input spectrogram (mid view of a stereo file) with "
        "the temporal attention a_tem drawn along time and the spatial attention a_spa folded back to frequency "
        "bands, and the predicted class. Needs a model with attention pooling (STAP). Also writes the arrays as "
        "JSON beside the PNG.",
        epilog="example: stasc explain --model runs/mfcc-stap-mixup/fold-0/checkpoints/best.ckpt airport.wav --out airport.png",
    )
    parser.add_argument("--model", type=Path, required=True, help="a checkpoint, or a run folder (its first split)")
    parser.add_argument("audio", type=Path, help="an audio file")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write (the arrays go to the same name .json)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds from the start to explain (default: 10)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    predictor = model if isinstance(model, Predictor) else getattr(model, "predictors", [None])[0]
    if not isinstance(predictor, Predictor):
        raise ValueError(f"{args.model}: explain needs one PyTorch model (a checkpoint or a run folder)")
    explanation = explain_file(predictor, args.audio, window_seconds=args.window)
    plot_explanation(explanation, args.out)
    arrays = {
        "file": str(args.audio), "view": explanation.view, "label": explanation.label,
        "probabilities": dict(zip(explanation.classes, map(float, explanation.probabilities))),
        "frame_seconds": explanation.frame_seconds, "temporal_attention": explanation.temporal.tolist(),
        "band_attention": explanation.bands.tolist(),
    }
    args.out.with_suffix(".json").write_text(json.dumps(arrays, indent=2))
    print(f"{args.audio}: {explanation.label} ({explanation.probabilities.max():.2f}) → {args.out}")
    return 0
