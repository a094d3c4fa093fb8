"""The ``stasc`` command: thin subcommands over the library.

Exit statuses shared by every subcommand: 0 success; 1 the work finished but some inputs failed
(listed on screen and in a failures file); 2 bad usage, configuration or data (nothing done).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from stasc import __version__
from stasc.audio import AudioError
from stasc.cli import (
    demo, download, ensemble, evaluate, explain, export, extract, folds, predict, reproduce, train,
)
from stasc.data.datasets import DatasetError
from stasc.inference import CheckpointError

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2

SUBCOMMANDS = (demo, download, extract, folds, train, evaluate, ensemble, reproduce, predict, explain, export)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stasc",
        description="Acoustic scene classification with deep CNNs and spatial-temporal attention pooling "
        "(DCASE 2019 Task 1A). Run `stasc COMMAND --help` for each command.",
        epilog="Exit status: 0 success; 1 finished, but some input files failed (they are listed); "
        "2 bad usage, configuration or data.",
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
        return int(args.func(args))
    except (DatasetError, AudioError, CheckpointError, ValueError, FileNotFoundError) as err:
        print(f"stasc {args.command}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"stasc {args.command}: interrupted; finished work is kept, run the same command to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
