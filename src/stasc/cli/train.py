"""``stasc train`` and ``stasc cv``: the paper's recipe, one command per model."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from stasc.cli.options import (
    add_data_arguments,
    add_folds_arguments,
    add_preset_argument,
    add_set_argument,
    load_config,
    load_table,
)
from stasc.evaluation.report import format_table
from stasc.evaluation.runs import evaluate_run
from stasc.runs import RunDir
from stasc.training.cross_validation import cross_validate, seed_runs, train_final, train_fold, train_official
from stasc.training.distributed import is_main_process

DEFAULT_CACHE = Path(os.environ.get("STASC_CACHE", "stasc-cache"))

SELECTION_HELP = (
    "Model selection (train.selection): by default a grouped, stratified validation part of the training side "
    "(train.validation_fraction, 1/8 of its groups) chooses the epoch and the test clips are scored once; "
    "train.validation_part=fold validates on the whole fold after the test fold instead; "
    "train.selection=test-fold is the paper's protocol (optimistic), train.selection=last keeps the last epoch."
)


def _add_experiment_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    add_preset_argument(parser)
    parser.add_argument("--out", type=Path, required=True, help="run folder (checkpoints, logs, predictions, report)")
    add_set_argument(parser)
    parser.add_argument(
        "--cache", type=Path, default=DEFAULT_CACHE,
        help=f"feature cache root, shared by runs (default: $STASC_CACHE or {DEFAULT_CACHE})",
    )
    parser.add_argument("--workers", type=int,
                        help="decoding workers for feature extraction (default: none on a CPU, the cores on a GPU)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    train = subparsers.add_parser(
        "train",
        help="train one split: a test fold, the official split, or the final model on all the data",
        description="Train the network of a preset on one split. --fold N tests on fold N (the dataset's own folds "
        "when its metadata has a fold column, else K location-grouped folds numbered from 0); --split official "
        "uses the dataset's official train/test split (TAU: fold 1); without either, the final model is trained "
        "on every labelled clip but the validation part (RUN/final/, the model `predict` and `export` then use). "
        f"{SELECTION_HELP} Features are extracted into the cache first (only what is missing). Writes "
        "RUN/<split>/ with best and last checkpoints, CSV and TensorBoard logs, test predictions, and RUN/report.md.",
        epilog="examples:\n"
        "  stasc train --data ../shared/data/esc10/labels.csv --preset envsound --out runs/esc --fold 1\n"
        "  stasc train --data TAU-urban-acoustic-scenes-2019-development --preset mfcc-stap-mixup --out runs/msm \\\n"
        "      --fold 0 --k 5\n"
        "  stasc train --data TAU-urban-acoustic-scenes-2019-development --preset mfcc --out runs/m --split official\n"
        "  stasc train --data ../shared/data/esc10/labels.csv --preset envsound --out runs/esc   # the final model\n"
        "  stasc train --data DATA --preset quick --out runs/q --set train.max_epochs=1 --resume\n"
        "  stasc train --data DATA --preset mfcc --out runs/ddp --set train.devices=4 --set train.strategy=ddp",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_experiment_arguments(train)
    train.add_argument("--fold", type=int, help="the test fold (default: none, train the final model)")
    add_folds_arguments(train)
    train.add_argument("--split", choices=("official",), help="the dataset's official train/test split (TAU fold 1)")
    train.add_argument("--resume", action="store_true", help="continue an interrupted run from its last checkpoint")
    train.add_argument("--seeds", type=int, default=1,
                       help="train the split with N training seeds (RUN/seed-S/, the same folds) (default: 1)")
    train.set_defaults(func=run_train)

    cv = subparsers.add_parser(
        "cv",
        help="cross-validation of a preset on the dataset's own folds (or K grouped ones), resumable, then the report",
        description="Train one split per fold and write the report (accuracy and macro accuracy mean ± std, per-class "
        "accuracy, confusion matrix, log loss, learning curves, the protocol). A dataset whose metadata has a fold "
        "column (ESC-10/50: 1–5, UrbanSound8K: 1–10) is cross-validated on those folds, leave one fold out, so "
        "scores compare with published ones; other data gets K folds stratified by class and grouped by location. "
        f"{SELECTION_HELP} Run the same command again after an interruption: finished folds are kept, the "
        "interrupted one resumes.",
        epilog="examples:\n"
        "  stasc cv --data ../shared/data/esc10/labels.csv --preset envsound --out runs/envsound\n"
        "  stasc cv --data TAU-urban-acoustic-scenes-2019-development --preset mfcc-stap-mixup --k 5 --out runs/msm\n"
        "  stasc cv --data ../shared/data/fsdd/labels.csv --preset sample --k 5 --out runs/fsdd\n"
        "  stasc cv --data ../shared/data/esc10/labels.csv --preset envsound --seeds 3 --out runs/envsound-3seeds",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_experiment_arguments(cv)
    add_folds_arguments(cv)
    cv.add_argument("--seeds", type=int, default=1,
                    help="repeat every split with N training seeds (train.seed, +1, …) on the same folds and report "
                    "the mean ± std over seeds as well as folds, as the DCASE baselines do (default: 1)")
    cv.set_defaults(func=run_cv)


def _report(run: Path) -> None:
    summary = evaluate_run(run)
    print(format_table(summary["rows"]))
    if summary.get("over_seeds"):
        seeds = summary["over_seeds"]
        print(f"over {len(summary['rows'])} seeds: accuracy {100 * seeds['accuracy']['mean']:.1f} ± "
              f"{100 * seeds['accuracy']['std']:.1f} %, macro accuracy {100 * seeds['macro_accuracy']['mean']:.1f} ± "
              f"{100 * seeds['macro_accuracy']['std']:.1f} %")
    print(f"protocol: {summary['protocol']['description']}")
    print(f"report: {summary['paths']['report.md']}")


def run_train(args: argparse.Namespace) -> int:
    config, table = load_config(args), load_table(args)
    options = {"cache_root": args.cache, "resume": args.resume, "progress": not args.no_progress,
               "workers": args.workers}
    if args.split == "official" and args.fold is not None:
        raise ValueError("--split official and --fold exclude each other")
    members = ([(config, args.out)] if args.seeds == 1 else
               [(c, m.root) for c, m in seed_runs(config, table, args.out, seeds=args.seeds, k=args.k,
                                                   folds_kind=args.folds)])
    for seeded, out in members:
        if args.split == "official":
            result = train_official(seeded, table, args.data, out, **options)
        elif args.fold is not None:
            result = train_fold(seeded, table, out, fold=args.fold, k=args.k, folds_kind=args.folds, **options)
        else:
            result = train_final(seeded, table, out, **options)
    if not is_main_process():
        return 0
    chosen = (f"selected epoch {result.selected_epoch + 1} (selection score {result.selection_score:.4f})"
              if result.selection_score is not None else f"last epoch {result.selected_epoch + 1}")
    if result.test_accuracy is None:
        print(f"{result.split}: trained on {result.clips['fit']} clips, {chosen}; no test clips "
              f"(the final model: predict and export use it)")
        return 0
    print(f"{result.split}: test clip accuracy {result.test_accuracy:.4f}; {chosen}, {result.epochs} epochs")
    if RunDir(args.out).test_splits() or any(m.test_splits() for m in RunDir(args.out).seed_runs()):
        _report(args.out)
    return 0


def run_cv(args: argparse.Namespace) -> int:
    config, table = load_config(args), load_table(args)
    cross_validate(config, table, args.out, k=args.k, folds_kind=args.folds, cache_root=args.cache,
                   progress=not args.no_progress, workers=args.workers, seeds=args.seeds)
    if is_main_process():
        _report(args.out)
    return 0
