"""Byte counts and durations as people read them (decimal units, as the dataset pages give sizes)."""

from __future__ import annotations

from stasc.disk import format_bytes

__all__ = ["format_bytes", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``3.2 s``, ``12m05s`` or ``1h02m05s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"
