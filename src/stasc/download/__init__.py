"""Fetch a dataset from the registry: resumable, verified, bounded downloads and safe extraction.

What ends up under ``to`` (every step can be interrupted and run again; it goes on where it stopped)::

    to/NAME.zip.part           a download in progress, resumed with an HTTP Range request; never
                               larger than the registry lists (a server sending more is refused)
    to/NAME.zip                a zip whose size and md5 match the registry (never an unverified one);
                               deleted once extracted, unless ``keep_zips``
    to/stasc-download.json     which zips are extracted, with every extracted file's size; written
                               atomically. Without it, zips already deleted are fetched again.
    to/<folder>/               the dataset in the TAU layout (``meta.csv``, ``audio/``,
                               ``evaluation_setup/``): the path ``stasc extract --data`` takes

Nothing is written outside ``to``, and nothing half-written is left under a final name: a zip with
a member that is absolute, climbs out with ``..``, is a symbolic link or compresses implausibly
well is refused before anything of it is written; each member is written under a temporary name
and renamed once complete. Free space is checked before downloading and before each extraction.

One job per module: :mod:`~stasc.download.registry` (the data files), :mod:`~stasc.download.http`
(one file over the network), :mod:`~stasc.download.archive` (zip checks and extraction),
:mod:`stasc.disk` (free space, ENOSPC), :mod:`~stasc.download.state` (the state file),
:mod:`~stasc.download.progress` (bars), :mod:`~stasc.download.report` (results and summary),
:mod:`~stasc.download.orchestrate` (the whole dataset).
"""

from stasc.disk import NotEnoughSpaceError, is_no_space
from stasc.download.archive import extract_zip
from stasc.download.errors import DownloadError, DownloadInterrupted
from stasc.download.formatting import format_bytes, format_seconds
from stasc.download.http import RetryPolicy, fetch
from stasc.download.orchestrate import check_space, download_dataset, verify_dataset
from stasc.download.registry import (
    DatasetEntry,
    RemoteFile,
    default_registry,
    load_registry,
    read_files_csv,
)
from stasc.download.report import DownloadReport, FileOutcome, summarize
from stasc.download.state import STATE_FILE

__all__ = [
    "STATE_FILE",
    "DatasetEntry",
    "DownloadError",
    "DownloadInterrupted",
    "DownloadReport",
    "FileOutcome",
    "NotEnoughSpaceError",
    "RemoteFile",
    "RetryPolicy",
    "check_space",
    "default_registry",
    "download_dataset",
    "extract_zip",
    "fetch",
    "format_bytes",
    "format_seconds",
    "is_no_space",
    "load_registry",
    "read_files_csv",
    "summarize",
    "verify_dataset",
]
