"""``stasc ensemble``: majority and soft votes of several cross-validated runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from stasc.ensemble import build_ensemble
from stasc.evaluation.report import PAPER_TABLE2, format_table


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "ensemble",
        help="combine the clip decisions of several runs by majority and soft vote",
        description="Combine the validation predictions of several runs fold by fold (the runs must share folds, "
        "e.g. runs of `stasc cv` with the same data, K and seed): the paper's majority vote (ties broken by the "
        "summed probabilities of the tied classes) and a soft vote (mean probability). Writes the report with one "
        "row per member and one per vote.",
        epilog="example: stasc ensemble --runs runs/mfcc runs/mfcc-stap runs/mfcc-stap-mixup --out runs/ensemble",
    )
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="run folders written by `stasc cv`")
    parser.add_argument("--out", type=Path, required=True, help="folder for the ensemble report")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = build_ensemble(args.runs, args.out)
    print(format_table(result["rows"], PAPER_TABLE2))
    print(f"report: {result['paths']['report.md']}")
    return 0
