"""The ``stasc`` command: thin subcommands over the library.

Exit statuses shared by every subcommand: 0 success; 1 the work finished but some inputs failed
(listed on screen and in a failures file or the output); 2 bad usage, configuration or data, or
a file that cannot be read or written (nothing done); 3 not enough disk space (the path and the
space needed are named; what was already written is kept); 130 interrupted (finished work is kept).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from stasc import __version__
from stasc.audio import AudioError
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
from stasc.disk import NotEnoughSpaceError, is_no_space

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_SPACE = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141

SUBCOMMANDS = (demo, download, extract, folds, train, evaluate, ensemble, reproduce, predict, explain, export, info)
EPILOG = ("exit status: 0 success; 1 finished, but some input files failed (they are listed); 2 bad usage, "
          "configuration or data, or a file that cannot be read or written; 3 not enough disk space; 130 interrupted")


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


def _os_problem(err: OSError) -> str:
    where = f"{err.filename}: " if err.filename else ""
    return f"{where}{err.strerror or err}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=[logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    name = f"stasc {args.command}"
    try:
        status = int(args.func(args))
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # the reader went away (`stasc … | head`): stop quietly, and keep Python's own flush at exit quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except NotEnoughSpaceError as err:
        print(f"{name}: error: {err}", file=sys.stderr)
        return EXIT_NO_SPACE
    except OSError as err:
        if is_no_space(err):
            print(f"{name}: error: not enough disk space: {_os_problem(err)}; what was written before is kept, "
                  "temporary files are removed", file=sys.stderr)
            return EXIT_NO_SPACE
        print(f"{name}: error: {_os_problem(err)}", file=sys.stderr)
        return EXIT_USAGE
    except (AudioError, ValueError) as err:  # DatasetError, ConfigError, CheckpointError are ValueErrors
        print(f"{name}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{name}: interrupted; finished work is kept, run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
