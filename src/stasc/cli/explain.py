"""``stasc explain``: a picture of the attention that decided a prediction."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from stasc.explain import explain_file, plot_explanation, require_attention
from stasc.loading import model_predictors


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "explain",
        help="draw the attention (time and frequency bands) behind a prediction",
        description="For the first window of a recording: the input spectrogram (mid view of a stereo file) with "
        "the temporal attention a_tem drawn along time and the spatial attention a_spa folded back to frequency "
        "bands, and the predicted class. Needs a model with attention pooling (STAP). Also writes the arrays as "
        "JSON beside the PNG. A run folder of several fold models explains its first one.",
        epilog="example: stasc explain --model runs/envsound/fold-1/checkpoints/best.ckpt dog.ogg --out dog.png",
    )
    parser.add_argument("--model", type=Path, required=True, help="a checkpoint, or a run folder")
    parser.add_argument("audio", type=Path, help="an audio file")
    parser.add_argument("--out", type=Path, required=True, help="PNG to write (the arrays go to the same name .json)")
    parser.add_argument("--window", type=float, default=10.0, help="seconds from the start to explain (default: 10)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    predictors = model_predictors(args.model, device=args.device)
    if len(predictors) > 1:
        print(f"{args.model}: {len(predictors)} fold models; explaining the first", file=sys.stderr)
    require_attention(predictors[0], str(args.model))  # the model is the bad input here, not the audio
    explanation = explain_file(predictors[0], args.audio, window_seconds=args.window)
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
