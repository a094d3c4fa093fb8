"""A whole dataset: plan the disk space, fetch and extract its zips in parallel threads, record
what is extracted, then check the files ``meta.csv`` lists."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from stasc.data import DatasetError, find_unreadable, read_tau
from stasc.disk import NotEnoughSpaceError, free_bytes
from stasc.download.archive import declared_bytes, extract_zip
from stasc.download.errors import DownloadError, DownloadInterrupted
from stasc.download.files import md5_of, part_path
from stasc.download.formatting import format_bytes
from stasc.download.http import DEFAULT_RETRY_POLICY, RetryPolicy, fetch
from stasc.download.progress import Progress
from stasc.download.registry import DatasetEntry, RemoteFile
from stasc.download.report import DownloadReport, FileOutcome
from stasc.download.state import STATE_FILE, DownloadState

log = logging.getLogger(__name__)

EXTRACTED_PER_ZIP_BYTE = 1.05
"""Disk plan for a zip not yet here: its size × this (WAV barely compresses). Once a zip is here
the plan uses the sizes its members declare."""
AUDIO_PART = "audio"
DOC_PART = "doc"


def verify_dataset(root: str | Path, *, clips: bool = True) -> tuple[int, list[tuple[str, str]]]:
    """Check ``root/meta.csv`` and (``clips``) that every file it lists is present, non-empty and
    has a readable audio header. Returns ``(clips listed, [(file, problem), …])`` with every problem."""
    try:
        table = read_tau(root)
    except DatasetError as err:
        return 0, [("meta.csv", str(err))]
    return len(table), find_unreadable(table) if clips else []


def _bytes_here(to: Path, remote: RemoteFile) -> int:
    """Bytes of ``remote`` already on disk (a finished zip or a partial download)."""
    for path in (to / remote.name, part_path(to / remote.name)):
        if path.is_file() and path.stat().st_size <= remote.size_bytes:
            return path.stat().st_size
    return 0


def _extracted_bytes(to: Path, remote: RemoteFile) -> int | None:
    """The bytes the members of ``remote`` declare if a zip of the registry's size is here, else
    ``None`` (not here yet, or not a readable zip: it will be fetched again)."""
    zip_path = to / remote.name
    if not zip_path.is_file() or zip_path.stat().st_size != remote.size_bytes:
        return None
    try:
        return declared_bytes(zip_path)
    except DownloadError:
        return None


def check_space(to: Path, pending: Sequence[RemoteFile], *, jobs: int, keep_zips: bool) -> None:
    """Raise :class:`NotEnoughSpaceError` if the disk under ``to`` cannot hold the plan.

    Plan: every pending zip extracted (the sizes its members declare if it is here already, else
    its size × 1.05), plus the zips still to download: all of them with ``keep_zips``, else the
    ``jobs`` largest (each zip is deleted once extracted).
    """
    if not pending:
        return
    declared = {f.name: _extracted_bytes(to, f) for f in pending}
    known = [n for n in declared.values() if n is not None]
    estimated = [f for f in pending if declared[f.name] is None]
    extraction = sum(known) + sum(math.ceil(f.size_bytes * EXTRACTED_PER_ZIP_BYTE) for f in estimated)
    if not known:
        basis = f"planned as {EXTRACTED_PER_ZIP_BYTE} × the zip sizes"
    elif not estimated:
        basis = "the sizes the zips' members declare"
    else:
        basis = (f"the declared sizes of the zips here ({len(known)}) + {EXTRACTED_PER_ZIP_BYTE} × the zip sizes of "
                 f"the others ({len(estimated)})")
    downloads = sorted((f.size_bytes - _bytes_here(to, f) for f in pending), reverse=True)
    zips = sum(downloads) if keep_zips else sum(downloads[:jobs])
    needed = extraction + zips
    free = free_bytes(to)
    log.info("disk plan for %s: %s needed (%s to extract, %s; + %s of zips), %s free", to, format_bytes(needed),
             format_bytes(extraction), basis, format_bytes(zips), format_bytes(free))
    if needed > free:
        how = ("kept (--keep-zips)" if keep_zips
               else f"downloading at once (--jobs {jobs}; each is deleted once extracted)")
        raise NotEnoughSpaceError(to, needed, free, f"{format_bytes(extraction)} to extract, {basis}, "
                                  f"+ {format_bytes(zips)} of zips {how}")


def _is_verified_zip(path: Path, remote: RemoteFile) -> bool:
    """True if ``path`` exists with the registry's size and md5; a wrong one is deleted."""
    if not path.is_file():
        return False
    size = path.stat().st_size
    if size == remote.size_bytes and md5_of(path).hexdigest() == remote.md5:
        return True
    log.warning("%s: size %s / md5 differ from the registry; deleting it and fetching it again",
                path, format_bytes(size))
    path.unlink()
    return False


def download_dataset(
    entry: DatasetEntry,
    to: str | Path,
    *,
    parts: Sequence[str] | None = None,
    mirror: str | None = None,
    jobs: int = 2,
    keep_zips: bool = False,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    progress: bool = True,
) -> DownloadReport:
    """Download, verify and extract ``entry`` under ``to``; the dataset lands in ``to/entry.folder``.

    ``parts`` picks groups of zips (default: all); ``mirror`` replaces the registry's base URL;
    ``jobs`` files download at once. Files already extracted and intact are skipped, partial
    downloads resumed. A file that fails (network, checksum, refused zip) does not stop the others:
    it is reported in :attr:`DownloadReport.failed`. Once all files are in, ``meta.csv`` is checked
    (unless only the doc part was asked for) and every clip it lists (unless the audio part was
    left out).

    The local disk failing stops the whole run, since no other file could be written either: the
    other threads stop (keeping partial downloads) and the first error is raised:
    :class:`NotEnoughSpaceError` if the disk is too small (checked against the plan before
    anything is written, then before each extraction, and for a disk filling up mid-write), else
    the ``OSError`` (permission denied, read-only filesystem, …). ``KeyboardInterrupt`` stops the
    threads the same way.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    to = Path(to)
    if to.exists() and not to.is_dir():
        raise ValueError(f"{to}: exists and is not a folder")
    selected = entry.select(parts)
    chosen_parts = {f.part for f in selected}
    start = time.monotonic()
    state = DownloadState(to / STATE_FILE)
    pending = [f for f in selected if not state.extracted(f, to)]
    check_space(to, pending, jobs=jobs, keep_zips=keep_zips)
    to.mkdir(parents=True, exist_ok=True)

    bars = Progress(sum(f.size_bytes - _bytes_here(to, f) for f in pending), jobs, progress)
    stop = threading.Event()
    local_errors: list[BaseException] = []  # the first one is raised once the threads have stopped

    def process(remote: RemoteFile) -> FileOutcome:
        if stop.is_set():  # a thread picking up the next file after the run was stopped
            raise DownloadInterrupted(remote.name)
        zip_path = to / remote.name
        received = 0
        try:
            planned_here = _bytes_here(to, remote)
            if _is_verified_zip(zip_path, remote):
                status = "extracted"
            else:
                bars.grow(planned_here - _bytes_here(to, remote))  # a wrong zip was deleted
                with bars.file(remote.name, remote.size_bytes, _bytes_here(to, remote)) as (on_bytes, on_restart):
                    received = fetch(remote.url_at(mirror), zip_path, size_bytes=remote.size_bytes, md5=remote.md5,
                                     policy=policy, on_bytes=on_bytes, on_restart=on_restart, stop=stop)
                status = "downloaded"
            if stop.is_set():
                raise DownloadInterrupted(remote.name)
            log.info("%s: extracting", remote.name)
            state.mark(remote, extract_zip(zip_path, to))
            if not keep_zips:
                zip_path.unlink()
            return FileOutcome(remote.name, remote.size_bytes, status, received)
        except DownloadError as err:
            return FileOutcome(remote.name, remote.size_bytes, "failed", received, str(err))
        except (NotEnoughSpaceError, OSError) as err:  # the local disk: full, read-only, permissions
            local_errors.append(err)
            stop.set()
            raise

    done = {f.name: FileOutcome(f.name, f.size_bytes, "present") for f in selected if f not in pending}
    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="stasc-download") as pool:
            futures = [pool.submit(process, f) for f in pending]
            try:
                for future in futures:
                    outcome = future.result()
                    done[outcome.name] = outcome
            except BaseException as err:
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
                if local_errors and not isinstance(err, KeyboardInterrupt):
                    first = local_errors[0]
                    first.__suppress_context__ = True  # not the DownloadInterrupted it caused in another thread
                    raise first from None
                raise
    finally:
        bars.close()

    report = DownloadReport(entry, to / entry.folder, [done[f.name] for f in selected], time.monotonic() - start)
    skipped = [p for p in entry.parts if p not in chosen_parts]
    if report.failed:
        report.notes.append("verification of meta.csv skipped: some files failed")
    elif chosen_parts <= {DOC_PART}:
        report.notes.append("verification of meta.csv skipped: only the doc part was downloaded")
    else:
        check_clips = AUDIO_PART not in skipped
        listed, report.problems = verify_dataset(report.dataset_path, clips=check_clips)
        if check_clips:
            report.verified_clips = listed
        else:
            report.notes.append(f"meta.csv lists {listed} clips; not checked: the audio part was left out")
    return report
