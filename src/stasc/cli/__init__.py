"""The ``stasc`` command: thin subcommands over the library (exit statuses: :mod:`stasc.cli.errors`)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from stasc import __version__
from stasc.cli import (
    demo,
    download,
    ensemble,
    evaluate,
    explain,
    export,
    extract,
    folds,
    info,
    predict,
    reproduce,
    train,
)
from stasc.cli.errors import EPILOG, HANDLED, exit_status

SUBCOMMANDS = (demo, download, extract, folds, train, evaluate, ensemble, reproduce, predict, explain, export, info)

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stasc",
        description="Acoustic scene classification with deep CNNs and spatial-temporal attention pooling "
        "(DCASE 2019 Task 1A). Run `stasc COMMAND --help` for each command.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"stasc {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return status
    except HANDLED as err:
        return exit_status(f"stasc {args.command}", err)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
