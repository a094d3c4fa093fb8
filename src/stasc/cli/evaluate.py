"""``stasc evaluate``: (re)write the report of a run folder from its saved predictions."""

from __future__ import annotations

import argparse
from pathlib import Path

from stasc.evaluation.report import format_table
from stasc.evaluation.runs import evaluate_run


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="(re)write the report of a trained run",
        description="Read every finished split of a run folder (RUN/<split>/predictions.csv, result.json and logs) "
        "and write RUN/report.json, RUN/report.md and PNG plots: accuracy and macro accuracy mean ± std over folds, "
        "per-class accuracy, confusion matrix, log loss, per-fold numbers, learning curves, and the protocol "
        "(folds, model selection, epochs) behind every figure.",
        epilog="example: stasc evaluate runs/envsound",
    )
    parser.add_argument("run", type=Path, help="a run folder written by `stasc train` or `stasc cv`")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = evaluate_run(args.run)
    print(format_table(summary["rows"]))
    print(f"protocol: {summary['protocol']['description']}")
    print(f"report: {summary['paths']['report.md']}")
    return 0
