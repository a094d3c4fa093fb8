"""``stasc folds``: location-grouped, class-stratified K folds, from metadata alone."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from stasc.cli.options import add_data_arguments, load_table
from stasc.data.folds import assign_folds, write_folds


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "folds",
        help="write K cross-validation folds (stratified by class, grouped by location)",
        description="Assign every clip to one of K folds, stratified by class and grouped by recording "
        "location (or speaker), so no location is on both sides of a split. Needs only the metadata, "
        "not the audio. The result is a pure function of (metadata, K, seed).",
        epilog="example: stasc folds --data TAU-urban-acoustic-scenes-2019-development --k 5 --seed 0 --out folds.csv",
    )
    add_data_arguments(parser)
    parser.add_argument("--k", type=int, default=5, help="number of folds (default: 5, as the paper)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the assignment (default: 0)")
    parser.add_argument("--out", type=Path, required=True, help="CSV to write: filename,label,group,fold")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table = load_table(args)
    folds = assign_folds(table, k=args.k, seed=args.seed)
    write_folds(args.out, table, folds)
    print(f"{len(table)} clips, {len(table.classes)} classes, {len(set(table.groups))} groups → {args.out}")
    print(f"{'fold':>4} {'clips':>6} {'groups':>6}  smallest class")
    for fold in range(args.k):
        members = np.flatnonzero(folds == fold)
        per_class = Counter(table.labels[i] for i in members)
        rarest = min(table.classes, key=lambda c: per_class.get(c, 0))
        groups = len({table.groups[i] for i in members})
        print(f"{fold:>4} {len(members):>6} {groups:>6}  {rarest} ({per_class.get(rarest, 0)})")
    return 0
