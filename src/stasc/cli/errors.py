"""Exit statuses shared by every subcommand, and how an error becomes one line and one of them.

0 success; 1 the work finished but some inputs failed (listed on screen and in a failures file or
the output); 2 bad usage, configuration or data, or a file that cannot be read or written (nothing
done); 3 not enough disk space (the path and the space needed are named; what was already written
is kept); 130 interrupted (finished work is kept); 141 the reader of the output went away (`| head`).
"""

from __future__ import annotations

import os
import sys

from stasc.audio import AudioError
from stasc.disk import NotEnoughSpaceError, is_no_space

EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_NO_SPACE = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader went away

EPILOG = ("exit status: 0 success; 1 finished, but some input files failed (they are listed); 2 bad usage, "
          "configuration or data, or a file that cannot be read or written; 3 not enough disk space; 130 interrupted")


# what a command's failure can be; anything else is a bug and keeps its traceback
HANDLED = (OSError, NotEnoughSpaceError, AudioError, ValueError, KeyboardInterrupt)


def os_error_line(err: OSError) -> str:
    """A local file error in one line naming the path(s): ``PATH: Permission denied``."""
    paths = " -> ".join(str(p) for p in (err.filename, err.filename2) if p is not None)
    reason = err.strerror or str(err)
    return f"{paths}: {reason}" if paths else reason


def exit_status(name: str, err: BaseException) -> int:
    """Print ``err`` as ``NAME: error: …`` on stderr and return its exit status; re-raise what is not ours."""
    if isinstance(err, BrokenPipeError):
        # As the Python docs advise (signal module, "Note on SIGPIPE"): point stdout at devnull so that
        # Python's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    if isinstance(err, NotEnoughSpaceError):
        print(f"{name}: error: {err}", file=sys.stderr)
        return EXIT_NO_SPACE
    if isinstance(err, OSError):
        if is_no_space(err):
            print(f"{name}: error: not enough disk space: {os_error_line(err)}; what was written before is kept, "
                  "temporary files are removed", file=sys.stderr)
            return EXIT_NO_SPACE
        print(f"{name}: error: {os_error_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(err, (AudioError, ValueError)):  # DatasetError, ConfigError, CheckpointError are ValueErrors
        print(f"{name}: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    if isinstance(err, KeyboardInterrupt):
        print(f"{name}: interrupted; finished work is kept, run the same command to resume", file=sys.stderr)
        return EXIT_INTERRUPTED
    raise err
