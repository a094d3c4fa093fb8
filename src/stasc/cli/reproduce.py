"""``stasc reproduce``: the whole paper in one command: six presets cross-validated, then the ensemble."""

from __future__ import annotations

import argparse
from pathlib import Path

from stasc.cli.options import add_data_arguments, add_folds_arguments, load_table
from stasc.config import load_experiment, parse_assignments
from stasc.ensemble import build_ensemble
from stasc.evaluation.report import PAPER_TABLE2, format_table
from stasc.evaluation.runs import run_protocol
from stasc.runs import RunDir
from stasc.training.cross_validation import cross_validate
from stasc.training.distributed import is_main_process

PAPER_PRESETS = ("mfcc", "mfcc-stap", "mfcc-stap-mixup", "cqt-mfcc", "cqt-mfcc-stap", "hpss-mfcc-stap-mixup")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "reproduce",
        help="the paper in one command: the six models, cross-validated, and their majority vote",
        description="Cross-validate the paper's six presets (SPEC §5) on one set of location-grouped folds, then "
        "combine them by majority vote (and soft vote), and write one report laid out like the paper's Table 2 "
        "(accuracy per model and for the ensemble, mean ± std, the paper's figures beside) and Table 3 "
        "(per-scene accuracy with the paper's baseline and ensemble figures). Run it again after an "
        "interruption: finished folds and models are kept. On TAU 2019 this needs a GPU (days on a CPU).",
        epilog="examples:\n"
        "  stasc reproduce --data data/TAU-urban-acoustic-scenes-2019-development --out runs/paper\n"
        "  stasc reproduce --data ../shared/data/tut2018-scenes --out runs/smoke --k 2 "
        "--set model.width_multiplier=0.0625 --set train.max_epochs=1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="folder: one run per preset, and ensemble/")
    add_folds_arguments(parser)
    parser.add_argument("--presets", default=",".join(PAPER_PRESETS), help="comma-separated presets (default: the six)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key in every preset; repeatable")
    parser.add_argument("--cache", type=Path, help="feature cache root (default: OUT/cache)")
    parser.add_argument("--workers", type=int,
                        help="decoding workers for feature extraction (default: none on a CPU, the cores on a GPU)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table = load_table(args)
    overrides = parse_assignments(args.overrides)
    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    configs = {name: load_experiment(name, overrides) for name in presets}  # every config checked before training
    cache = args.cache or args.out / "cache"
    runs = []
    for name, config in configs.items():
        print(f"== {name}: {config.description}")
        cross_validate(config, table, args.out / name, k=args.k, folds_kind=args.folds, cache_root=cache,
                       progress=not args.no_progress, workers=args.workers)
        runs.append(args.out / name)
    if not is_main_process():  # the other processes of a multi-device run
        return 0
    result = build_ensemble(runs, args.out / "ensemble")
    print(format_table(result["rows"], PAPER_TABLE2))
    print(f"protocol: {run_protocol(RunDir(runs[0]))['description']}")
    print(f"report: {result['paths']['report.md']}")
    return 0
