"""Progress bars for long work: a live tqdm bar in a terminal; in a log file, a plain line now and then.

tqdm redraws its bar with carriage returns, which a log file keeps as one endless line; when
stderr is not a terminal the same bar writes a line (count, rate, time left) every 30 s instead.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from tqdm import tqdm


class _Lines:
    """A stream for tqdm that turns each redraw into one line."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").strip()
        if line:
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def bar(*, total: int, desc: str, unit: str, enabled: bool = True, **options: Any) -> tqdm[Any]:
    """A tqdm bar on stderr with counts and rates (disabled when ``enabled`` is False)."""
    if sys.stderr.isatty():
        return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, dynamic_ncols=True, **options)
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, file=_Lines(sys.stderr), mininterval=30,
                maxinterval=60, ascii=True, ncols=100, **options)
