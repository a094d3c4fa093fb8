"""``stasc info``: what a model is (a checkpoint, run, ensemble or export, or a preset): classes,
features, input, complexity as DCASE counts it, versions."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from stasc import checkpoint
from stasc.cli.options import add_set_argument
from stasc.complexity import Complexity, model_complexity
from stasc.config import ExperimentConfig, load_experiment, parse_assignments
from stasc.ensemble import ensemble_members, is_ensemble
from stasc.runs import RunDir


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "info",
        help="describe a model: classes, features, input, complexity (parameters, MACs), versions",
        description="Describe a trained model — a checkpoint, a run folder (its model), an ensemble folder (each "
        "member) or an exported .onnx/.pt — or a preset's untrained network: its classes, features, input, "
        "complexity as DCASE counts it (parameters and non-zero ones, parameter memory at fp32/fp16/int8, "
        "MACs per patch and per second of audio, activation memory of one patch; torchinfo) and the versions "
        "it was made with. --json prints the same as JSON.",
        epilog="examples:\n  stasc info runs/envsound\n  stasc info runs/mfcc/fold-0/checkpoints/best.ckpt --json\n"
        "  stasc info model.onnx\n  stasc info --preset mfcc-stap-mixup",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", type=Path, nargs="?", help="a checkpoint, run folder, ensemble folder or export")
    parser.add_argument("--preset", help="describe a preset's network instead (no weights)")
    add_set_argument(parser, "the preset")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def describe_config(config: ExperimentConfig, weights: Any = None) -> dict[str, Any]:
    spec = config.input
    return {
        "name": config.name,
        "features": [f.to_dict() for f in spec.features],
        "input": {"sample_rate": spec.sample_rate, "patch": [spec.patch_width, spec.patch_shift],
                  "patch_size": list(spec.patch_size), "channels": config.model.in_channels,
                  "mono_views": spec.mono_views, "clip_norm": spec.clip_norm},
        "network": {"pooling": config.model.pooling.to_dict(), "head": config.model.head,
                    "width_multiplier": config.model.width_multiplier, "members": config.model.members,
                    "test_time_warps": config.model.test_time_warps, "patch_weights": config.model.patch_weights},
        "complexity": model_complexity(config, weights).to_dict(),
    }


def describe(path: Path) -> dict[str, Any]:
    """What ``stasc info PATH`` prints, as data."""
    if path.is_file() and path.suffix in (".onnx", ".pt"):
        from stasc.exported import read_metadata

        meta = read_metadata(path)
        return {"path": str(path), "kind": "export", **{k.removeprefix("stasc."): json.loads(v) if v[:1] in "[{" else v
                                                         for k, v in meta.items()}}
    if is_ensemble(path):
        return {"path": str(path), "kind": "ensemble", "members": [describe(run) for run in ensemble_members(path)]}
    checkpoints = [path] if path.is_file() else RunDir(path).model_checkpoints() if RunDir.is_run(path) else []
    if not checkpoints:
        raise checkpoint.CheckpointError(f"{path}: no checkpoint, finished run, ensemble or export")
    saved = checkpoint.read(checkpoints[0])
    return {"path": str(path), "kind": "run" if path.is_dir() else "checkpoint",
            "models": [str(c) for c in checkpoints], "classes": list(saved.classes),
            **describe_config(saved.config, saved.weights), "versions": saved.versions}


def _print(info: dict[str, Any], indent: str = "") -> None:
    for key, value in info.items():
        if key == "complexity":
            print(f"{indent}complexity:")
            for line in Complexity(**value).lines():
                print(f"{indent}  {line}")
        elif key == "members":
            for member in value:
                print(f"{indent}member:")
                _print(member, indent + "  ")
        else:
            print(f"{indent}{key}: {value if not isinstance(value, (dict, list)) else json.dumps(value)}")


def run(args: argparse.Namespace) -> int:
    if (args.model is None) == (args.preset is None):
        raise ValueError("give a model (checkpoint, run, ensemble, export) or --preset NAME")
    if args.preset:
        config = load_experiment(args.preset, parse_assignments(args.overrides))
        info = {"preset": args.preset, **describe_config(config)}
    else:
        info = describe(args.model)
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print(info)
    return 0
