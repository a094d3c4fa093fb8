"""Progress bars on stderr (tqdm): all bytes on the top line and, in a terminal, one line per file
downloading (a log gets the overall line every 30 s, :func:`stasc.progress.bar`)."""

from __future__ import annotations

import queue
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from stasc.download.http import Callback
from stasc.progress import bar as progress_bar


class Progress:
    """The bars of one run of :func:`stasc.download.download_dataset`; safe to use from its threads.

    ``enabled=False`` keeps the bookkeeping and draws nothing.
    """

    def __init__(self, total_bytes: int, jobs: int, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._slots: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(1, jobs + 1):
            self._slots.put(slot)
        self.overall = progress_bar(total=total_bytes, desc="all files", unit="B", enabled=enabled, unit_scale=True,
                                    unit_divisor=1000, position=0)

    def _add(self, n: int) -> None:
        with self._lock:
            self.overall.update(n)

    def grow(self, n: int) -> None:
        """``n`` more bytes to download than planned (a file started again)."""
        with self._lock:
            self.overall.total = (self.overall.total or 0) + n
            self.overall.refresh()

    @contextmanager
    def file(self, name: str, size_bytes: int, have: int) -> Iterator[tuple[Callback, Callback]]:
        """Per-file bar; yields ``(on_bytes, on_restart)`` callbacks for :func:`stasc.download.fetch`."""
        slot = self._slots.get()
        bar = tqdm(total=size_bytes, initial=have, desc=name, unit="B", unit_scale=True, unit_divisor=1000,
                   position=slot, leave=False, disable=not (self.enabled and sys.stderr.isatty()), dynamic_ncols=True)

        def on_bytes(n: int) -> None:
            bar.update(n)
            self._add(n)

        def on_restart(discarded: int) -> None:
            bar.reset(total=size_bytes)
            self.grow(discarded)

        try:
            yield on_bytes, on_restart
        finally:
            bar.close()
            self._slots.put(slot)

    def close(self) -> None:
        """Close the overall bar (the per-file bars close with their file)."""
        self.overall.close()
