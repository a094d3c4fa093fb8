"""``stasc folds``: the cross-validation folds a run would use, from metadata alone."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from stasc.cli.options import add_data_arguments, add_folds_arguments, load_table
from stasc.data import cv_folds, write_folds


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "folds",
        help="write the cross-validation folds (the dataset's own, or K grouped and stratified ones)",
        description="Say which folds `stasc cv` uses and write them: the dataset's own when its metadata has a fold "
        "column (ESC-10/50, UrbanSound8K), else K folds stratified by class and grouped by recording location, "
        "source or speaker, so no group is on both sides of a split. Needs only the metadata, not the audio. "
        "Grouped folds are a pure function of (metadata, K, seed).",
        epilog="examples:\n"
        "  stasc folds --data ../shared/data/esc10/labels.csv --out folds.csv              # its 5 official folds\n"
        "  stasc folds --data TAU-urban-acoustic-scenes-2019-development --k 5 --seed 0 --out folds.csv\n"
        "  stasc folds --data ../shared/data/esc10/labels.csv --folds grouped --k 4 --out my-folds.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    add_folds_arguments(parser)
    parser.add_argument("--seed", type=int, default=0, help="random seed of a grouped assignment (default: 0)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write: filename,label,group,fold")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table = load_table(args)
    folds = cv_folds(table, k=args.k, seed=args.seed, kind=args.folds)
    write_folds(args.out, table, folds.of_clip)
    print(f"{len(table)} clips, {len(table.classes)} classes, {len(set(table.groups))} groups: {folds.describe()} → "
          f"{args.out}")
    print(f"{'fold':>4} {'clips':>6} {'groups':>6}  smallest class")
    for fold in folds.ids:
        members = np.flatnonzero(folds.of_clip == fold)
        per_class = Counter(table.labels[i] for i in members)
        rarest = min(table.classes, key=lambda c: per_class.get(c, 0))
        groups = len({table.groups[i] for i in members})
        print(f"{fold:>4} {len(members):>6} {groups:>6}  {rarest} ({per_class.get(rarest, 0)})")
    return 0
