"""``stasc evaluate``: (re)write the report of a run folder from its saved predictions."""

from __future__ import annotations

import argparse
from pathlib import Path

from stasc.evaluation.report import format_table
from stasc.evaluation.runs import evaluate_run


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="(re)write the report of a trained run",
        description="Read every finished split of a run folder (RUN/<split>/predictions.csv and logs) and write "
        "RUN/report.json, RUN/report.md and PNG plots: accuracy mean ± std over folds, per-class accuracy, "
        "confusion matrix, log loss, per-fold numbers and learning curves.",
        epilog="example: stasc evaluate runs/mfcc-stap-mixup",
    )
    parser.add_argument("run", type=Path, help="a run folder written by `stasc train` or `stasc cv`")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = evaluate_run(args.run)
    print(format_table(summary["rows"]))
    print(f"report: {summary['paths']['report.md']}")
    return 0
