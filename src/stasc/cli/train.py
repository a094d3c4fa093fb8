"""``stasc train`` and ``stasc cv``: the paper's recipe, one command per model."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from stasc.cli.options import add_data_arguments, load_table
from stasc.config import load_experiment, parse_assignments, preset_names
from stasc.evaluation.report import format_table
from stasc.training.cross_validation import cross_validate, train_fold, train_official
from stasc.training.fit import is_main_process
from stasc.evaluation.runs import evaluate_run

DEFAULT_CACHE = Path(os.environ.get("STASC_CACHE", "stasc-cache"))


def _add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument(
        "--preset", required=True,
        help=f"a preset name ({', '.join(preset_names())}) or a YAML file",
    )
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, logs, predictions, report)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any config key, e.g. train.max_epochs=1 or model.width_multiplier=0.25; repeatable",
    )
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE,
        help=f"feature cache root, shared by runs (default: $STASC_CACHE or {DEFAULT_CACHE})",
    )
    parser.add_argument("--workers", type=int, default=0, help="decoding workers for feature extraction (default: 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    train = subparsers.add_parser(
        "train",
        help="train one split of a preset (one fold, or the official fold-1 split)",
        description="Train the network of a preset on one split: fold I of K location-grouped folds, or the "
        "official TAU fold-1 split. Features are extracted into the cache first (only what is missing). "
        "Writes RUN/<split>/ with best and last checkpoints, CSV and TensorBoard logs, validation predictions, "
        "and RUN/report.md.",
        epilog="examples:\n"
        "  stasc train --data TAU-urban-acoustic-scenes-2019-development --preset mfcc-stap-mixup --out runs/msm --fold 0 --k 5\n"
        "  stasc train --data TAU-urban-acoustic-scenes-2019-development --preset mfcc --out runs/m --split fold1\n"
        "  stasc train --data DATA --preset quick --out runs/q --set train.max_epochs=1 --resume\n"
        "  stasc train --data DATA --preset mfcc --out runs/ddp --set train.devices=4 --set train.strategy=ddp",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_experiment_arguments(train)
    train.add_argument("--fold", type=int, default=0, help="fold to validate on, from 0 (default: 0)")
    train.add_argument("--k", type=int, default=5, help="number of folds (default: 5)")
    train.add_argument("--split", choices=("fold1",), help="use the official TAU fold-1 split instead of K folds")
    train.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    train.set_defaults(func=run_train)

    cv = subparsers.add_parser(
        "cv",
        help="K-fold cross-validation of a preset, resumable fold by fold, then the report",
        description="Train every fold of K location-grouped, class-stratified folds and write the report "
        "(accuracy mean ± std, per-class accuracy, confusion matrix, log loss, learning curves). Run the same "
        "command again after an interruption: finished folds are kept, the interrupted one resumes.",
        epilog="example: stasc cv --data TAU-urban-acoustic-scenes-2019-development --preset mfcc-stap-mixup --k 5 --out runs/msm",
    )
    _add_experiment_arguments(cv)
    cv.add_argument("--k", type=int, default=5, help="number of folds (default: 5, as the paper)")
    cv.set_defaults(func=run_cv)


def _setup(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    config = load_experiment(args.preset, parse_assignments(args.overrides))
    return config, load_table(args)


def run_train(args: argparse.Namespace) -> int:
    config, table = _setup(args)
    options = dict(cache_root=args.cache, resume=args.resume, progress=not args.no_progress, workers=args.workers)
    if args.split == "fold1":
        result = train_official(config, table, args.data, args.out, **options)
    else:
        result = train_fold(config, table, args.out, fold=args.fold, k=args.k, **options)
    if not is_main_process():
        return 0
    print(f"{result.split}: best validation clip accuracy {result.best_val_acc:.4f} after {result.epochs} epochs")
    summary = evaluate_run(args.out)
    print(format_table(summary["rows"]))
    print(f"report: {summary['paths']['report.md']}")
    return 0


def run_cv(args: argparse.Namespace) -> int:
    config, table = _setup(args)
    cross_validate(config, table, args.out, k=args.k, cache_root=args.cache, progress=not args.no_progress,
                   workers=args.workers)
    if not is_main_process():
        return 0
    summary = evaluate_run(args.out)
    print(format_table(summary["rows"]))
    print(f"report: {summary['paths']['report.md']}")
    return 0
