"""The errors of :mod:`stasc.download` that more than one of its modules raises."""

from __future__ import annotations


class DownloadError(RuntimeError):
    """A file that could not be fetched, verified or extracted (the message says which and why).

    It concerns one file: the others go on, and the run ends with that file listed as failed.
    """


class DownloadInterrupted(Exception):
    """Raised in the download threads when the run is stopped (Ctrl-C, or a local disk error in
    another thread); partial files are kept for the next run."""
