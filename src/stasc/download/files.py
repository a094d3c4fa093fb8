"""How :mod:`stasc.download` names and writes its local files: ``.part`` for anything unfinished,
chunked reads for hashing, atomic replacement for the state file."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PART_SUFFIX = ".part"
"""Suffix of a file still being written (a download, an extracted member, the state file)."""
CHUNK_BYTES = 1 << 20
"""Read and write size: large enough for speed, small enough to stop promptly."""


def md5_of(path: Path) -> hashlib._Hash:
    """An md5 hasher fed with the bytes of ``path`` (read in chunks), ready to take more."""
    hasher = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            hasher.update(chunk)
    return hasher


def part_path(path: Path) -> Path:
    """Where ``path`` is written until it is complete."""
    return path.with_name(path.name + PART_SUFFIX)


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old content or the new, never half."""
    temporary = part_path(path)
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
