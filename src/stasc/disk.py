"""Free disk space: one error for "the disk is too small", whether found by a check before writing
(a download plan, a zip's declared sizes) or by the disk filling up mid-write (ENOSPC). Every
command turns it into one line and exit status 3 (:mod:`stasc.cli`)."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
"""``errno`` values meaning the disk (or the user's quota on it) is full."""


class NotEnoughSpaceError(RuntimeError):
    """The disk under ``path`` has less free space than needed; the message names the path, the
    bytes needed and free, and what they were needed for."""

    def __init__(self, path: Path, needed_bytes: int, free_bytes: int, detail: str) -> None:
        self.path = path
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes
        super().__init__(
            f"not enough free space for {path}: {format_bytes(needed_bytes)} needed, {format_bytes(free_bytes)} "
            f"free ({detail}); free some space or use a bigger disk"
        )


def format_bytes(n: float) -> str:
    """``1234567`` → ``1.2 MB`` (decimal units, as disk sizes are sold)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem holding ``path``, or that will hold it (its nearest existing
    ancestor), so the check can run before ``path`` is created."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return shutil.disk_usage(existing).free


def is_no_space(err: OSError) -> bool:
    """True for "no space left on device" and "disk quota exceeded"."""
    return err.errno in NO_SPACE_ERRNOS


def require_space(path: Path, needed_bytes: int, detail: str) -> None:
    """Raise :class:`NotEnoughSpaceError` if the disk under ``path`` has less than ``needed_bytes`` free."""
    free = free_bytes(path)
    if needed_bytes > free:
        raise NotEnoughSpaceError(path, needed_bytes, free, detail)


def filled_up(err: OSError, path: Path, needed_bytes: int, detail: str) -> NotEnoughSpaceError:
    """The :class:`NotEnoughSpaceError` for an ENOSPC met while writing ``path``, which still needed
    ``needed_bytes``; ``detail`` says what was being written and what was kept or removed."""
    return NotEnoughSpaceError(path, needed_bytes, free_bytes(path), f"{detail}: {err.strerror}")
