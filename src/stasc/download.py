"""Fetch a dataset from the registry: resumable, verified downloads and safe extraction.

The registry is data (``stasc/registry/``). ``datasets.csv`` names each dataset: ``id``, ``title``,
``files`` (its files CSV, relative to the index), ``folder`` (the top folder its zips extract into),
``homepage``, ``licence`` and ``citation``. The files CSV lists each zip as ``url,bytes,md5,part``
(``part`` groups the zips: ``audio``, ``meta``, ``doc`` for the DCASE sets). Adding a dataset
(TUT 2018, TAU 2020 Mobile, …) is adding a row and a files CSV, no code.

What ends up under ``to`` (every step can be interrupted and run again; it goes on where it stopped)::

    to/NAME.zip.part           a download in progress, resumed with an HTTP Range request
    to/NAME.zip                a zip whose size and md5 match the registry (never an unverified one);
                               deleted once extracted, unless ``keep_zips``
    to/stasc-download.json     which zips are extracted, with every extracted file's size; written
                               atomically. Without it, zips already deleted are fetched again.
    to/<folder>/               the dataset in the TAU layout (``meta.csv``, ``audio/``,
                               ``evaluation_setup/``): the path ``stasc extract --data`` takes

Nothing is written outside ``to``: a zip member whose name is absolute or climbs out with ``..``
makes the whole zip refused before anything of it is written.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import json
import logging
import math
import os
import queue
import re
import shutil
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from tqdm import tqdm

from stasc import __version__
from stasc.data.datasets import DatasetError, find_unreadable, read_tau

log = logging.getLogger(__name__)

STATE_FILE = "stasc-download.json"
PART_SUFFIX = ".part"
CHUNK_BYTES = 1 << 20
EXTRACTED_PER_ZIP_BYTE = 1.05
"""Disk plan for extraction: the zip sizes × this (WAV barely compresses; the true sizes are known
only once a zip is here)."""
RETRY_HTTP_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
AUDIO_PART = "audio"
DOC_PART = "doc"


_Callback = Callable[[int], None]


class DownloadError(RuntimeError):
    """A file that could not be fetched, verified or extracted (the message says which and why)."""


class NotEnoughSpaceError(RuntimeError):
    """The disk under the target folder has less free space than the download plan needs."""


class DownloadInterrupted(Exception):
    """Raised in the download threads when the run is stopped (e.g. Ctrl-C); partial files are kept."""


class _NetworkError(Exception):
    """A failure worth retrying: timeout, reset, dropped connection, HTTP 5xx/429."""


# ----------------------------------------------------------------------------------------------
# The registry


@dataclass(frozen=True)
class RemoteFile:
    """One zip of a dataset, as the registry lists it."""

    url: str
    size_bytes: int
    md5: str
    part: str

    @property
    def name(self) -> str:
        return PurePosixPath(urlsplit(self.url).path).name

    def url_at(self, mirror: str | None) -> str:
        """The URL to fetch: the registry's, or the same file name under ``mirror``."""
        return self.url if not mirror else f"{mirror.rstrip('/')}/{self.name}"


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset of the registry: its zips and the folder they extract into."""

    id: str
    title: str
    folder: str
    files: tuple[RemoteFile, ...]
    homepage: str = ""
    licence: str = ""
    citation: str = ""

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)

    @property
    def parts(self) -> tuple[str, ...]:
        """Part names in registry order."""
        return tuple(dict.fromkeys(f.part for f in self.files))

    def select(self, parts: Sequence[str] | None) -> tuple[RemoteFile, ...]:
        """The files of ``parts`` (all files for ``None``); an unknown part raises ``ValueError``."""
        if parts is None:
            return self.files
        unknown = sorted(set(parts) - set(self.parts))
        if unknown or not parts:
            raise ValueError(f"{self.id}: unknown parts {unknown or list(parts)}; the parts are {list(self.parts)}")
        return tuple(f for f in self.files if f.part in parts)


def default_registry() -> Path:
    """The index CSV shipped with the package."""
    return Path(str(resources.files("stasc") / "registry" / "datasets.csv"))


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: missing columns {missing}; columns are {reader.fieldnames}")
            return list(reader)
    except OSError as err:
        raise ValueError(f"cannot read registry file {path}: {err}") from err


def _plain_name(value: str, path: Path, line: int, what: str) -> str:
    if not value or value in (".", "..") or "/" in value or "\\" in value:
        raise ValueError(f"{path}, line {line}: {what} {value!r} is not a plain file or folder name")
    return value


def read_files_csv(path: str | Path) -> tuple[RemoteFile, ...]:
    """The zips of one dataset: a CSV with columns ``url,bytes,md5,part``."""
    path = Path(path)
    files = []
    for line, row in enumerate(_read_csv(path, ("url", "bytes", "md5", "part")), start=2):
        try:
            size = int(row["bytes"])
        except ValueError:
            size = -1
        if size <= 0:
            raise ValueError(f"{path}, line {line}: bytes {row['bytes']!r} is not a positive integer")
        md5 = row["md5"].strip().lower()
        if not re.fullmatch(r"[0-9a-f]{32}", md5):
            raise ValueError(f"{path}, line {line}: md5 {row['md5']!r} is not 32 hex digits")
        if not row["part"].strip():
            raise ValueError(f"{path}, line {line}: empty part")
        remote = RemoteFile(row["url"].strip(), size, md5, row["part"].strip())
        _plain_name(remote.name, path, line, "the URL's file name")
        files.append(remote)
    names = [f.name for f in files]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{path}: file names listed twice: {dupes}")
    if not files:
        raise ValueError(f"{path}: lists no files")
    return tuple(files)


def load_registry(index: str | Path | None = None) -> dict[str, DatasetEntry]:
    """The datasets of a registry index CSV (default: the one shipped with stasc), by id."""
    index = Path(index) if index is not None else default_registry()
    entries: dict[str, DatasetEntry] = {}
    for line, row in enumerate(_read_csv(index, ("id", "title", "files", "folder")), start=2):
        if row["id"] in entries:
            raise ValueError(f"{index}, line {line}: dataset id {row['id']!r} listed twice")
        entries[row["id"]] = DatasetEntry(
            id=row["id"],
            title=row["title"],
            folder=_plain_name(row["folder"], index, line, "folder"),
            files=read_files_csv(index.parent / row["files"]),
            homepage=row.get("homepage") or "",
            licence=row.get("licence") or "",
            citation=row.get("citation") or "",
        )
    return entries


# ----------------------------------------------------------------------------------------------
# Settings, results, formatting


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try. Network retries count failures in a row without new bytes (so a flaky but
    progressing download goes on); checksum attempts count whole downloads of a file."""

    attempts: int = 5
    checksum_attempts: int = 3
    backoff_seconds: float = 2.0
    max_backoff_seconds: float = 60.0
    timeout_seconds: float = 60.0

    def __post_init__(self) -> None:
        for name in ("attempts", "checksum_attempts"):
            if getattr(self, name) < 1:
                raise ValueError(f"RetryPolicy.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("backoff_seconds", "max_backoff_seconds", "timeout_seconds"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"RetryPolicy.{name} must be >= 0, got {getattr(self, name)}")
        if self.timeout_seconds == 0:
            raise ValueError("RetryPolicy.timeout_seconds must be > 0, got 0")

    def delay_seconds(self, failures: int) -> float:
        """Back-off before retry number ``failures`` (1, 2, …): doubling, capped."""
        return min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (failures - 1))


@dataclass
class FileOutcome:
    """What happened to one zip. ``status``: ``present`` (already extracted by an earlier run),
    ``downloaded`` (fetched and extracted now), ``extracted`` (a verified zip was here; extracted now)
    or ``failed`` (see ``error``)."""

    name: str
    size_bytes: int
    status: str
    received_bytes: int = 0
    error: str = ""


@dataclass
class DownloadReport:
    """The result of :func:`download_dataset`."""

    dataset: DatasetEntry
    dataset_path: Path
    files: list[FileOutcome]
    seconds: float
    verified_clips: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    """Verification problems as ``(file, problem)``: missing or unreadable files of ``meta.csv``."""
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems

    @property
    def received_bytes(self) -> int:
        return sum(f.received_bytes for f in self.files)


def format_bytes(n: float) -> str:
    """Decimal units, as the dataset pages give them: ``35.6 GB``."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(n) < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def format_seconds(seconds: float) -> str:
    """``3.2 s``, ``12m05s`` or ``1h02m05s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def summarize(report: DownloadReport) -> str:
    """The end-of-run summary (several lines)."""
    counts = {s: sum(f.status == s for f in report.files) for s in ("downloaded", "extracted", "present", "failed")}
    received = report.received_bytes
    rate = f", {format_bytes(received / report.seconds)}/s" if received and report.seconds > 0 else ""
    total = sum(f.size_bytes for f in report.files)
    lines = [
        f"{report.dataset.id}: {report.dataset.title}",
        f"  {len(report.files)} files, {format_bytes(total)}: {counts['downloaded']} downloaded "
        f"({format_bytes(received)} in {format_seconds(report.seconds)}{rate}), "
        f"{counts['extracted']} extracted from zips already here, {counts['present']} already in place, "
        f"{counts['failed']} failed",
    ]
    lines += [f"  {note}" for note in report.notes]
    if report.problems:
        lines.append(f"  verification: {len(report.problems)} files missing or unreadable (listed above)")
    elif report.verified_clips:
        lines.append(f"  verified: all {report.verified_clips} clips listed in meta.csv are present and readable")
    if report.ok:
        lines.append(f"dataset: {report.dataset_path}")
    else:
        lines.append(f"incomplete: {len(report.failed)} files failed, {len(report.problems)} verification problems "
                     "(listed above); run the same command again to resume")
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# One download


class _Partial:
    """A ``.part`` file being written, with the md5 of its bytes so far."""

    def __init__(self, path: Path, size_bytes: int) -> None:
        self.path = path
        self.hasher = hashlib.md5()
        self.have = 0
        if path.is_file():
            if path.stat().st_size > size_bytes:
                log.warning("%s: %s is larger than the expected %s; starting again", path,
                            format_bytes(path.stat().st_size), format_bytes(size_bytes))
                path.unlink()
            else:
                with path.open("rb") as handle:
                    while chunk := handle.read(CHUNK_BYTES):
                        self.update(chunk)

    def update(self, chunk: bytes) -> None:
        self.hasher.update(chunk)
        self.have += len(chunk)

    def restart(self) -> int:
        """Empty the file; returns the number of bytes thrown away."""
        discarded = self.have
        self.path.write_bytes(b"")
        self.hasher = hashlib.md5()
        self.have = 0
        return discarded


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        err = err.reason if isinstance(err.reason, BaseException) else err
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if type(err).__name__ not in text else text


def _stream(url: str, partial: _Partial, *, timeout_seconds: float, on_bytes: Callable[[int], None],
            on_restart: Callable[[int], None], stop: threading.Event) -> None:
    """One HTTP request: append what the server sends to ``partial`` (resuming from ``partial.have``).

    Raises :class:`_NetworkError` for what is worth retrying, :class:`DownloadError` for what is not.
    Returns when the response ends (possibly short: the caller compares sizes).
    """
    headers = {"User-Agent": f"stasc/{__version__}"}
    if partial.have:
        headers["Range"] = f"bytes={partial.have}-"
    try:
        response = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_seconds)
    except urllib.error.HTTPError as err:
        if err.code == 416:
            on_restart(partial.restart())
            raise _NetworkError("the server refused the resume range (HTTP 416); starting the file again") from err
        if err.code in RETRY_HTTP_STATUS:
            raise _NetworkError(f"HTTP {err.code} {err.reason}") from err
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from err
    except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, refused, reset
        raise _NetworkError(_describe(err)) from err
    with response:
        status = response.status or 200  # file:// URLs have no status
        if partial.have and status != 206:
            log.info("%s: the server does not resume (HTTP %s to a Range request); starting from 0", url, status)
            on_restart(partial.restart())
        elif status == 206:
            content_range = response.headers.get("Content-Range", "")
            match = re.match(r"bytes (\d+)-", content_range)
            if not match or int(match.group(1)) != partial.have:
                on_restart(partial.restart())
                raise _NetworkError(f"unexpected Content-Range {content_range!r} for a resume at {partial.have}")
        with partial.path.open("ab") as out:
            while True:
                if stop.is_set():
                    raise DownloadInterrupted(url)
                try:
                    chunk = response.read1(CHUNK_BYTES)  # what has arrived: steady progress on slow links
                except (OSError, http.client.HTTPException) as err:  # timeout, reset, IncompleteRead
                    raise _NetworkError(_describe(err)) from err
                if not chunk:
                    return
                out.write(chunk)
                partial.update(chunk)
                on_bytes(len(chunk))


def fetch(
    url: str,
    dest: str | Path,
    *,
    size_bytes: int,
    md5: str,
    policy: RetryPolicy = RetryPolicy(),
    on_bytes: Callable[[int], None] = lambda n: None,
    on_restart: Callable[[int], None] = lambda n: None,
    stop: threading.Event | None = None,
) -> int:
    """Download ``url`` to ``dest``, verified; returns the bytes received over the network.

    Bytes go to ``dest.part`` (an existing one is resumed with a Range request; a server that
    ignores Range makes it start again from 0); ``dest`` appears only once size and md5 match. A
    mismatch deletes the bad file and downloads it again, up to ``policy.checksum_attempts`` times.
    Network errors and timeouts are retried with doubling back-off until ``policy.attempts``
    failures in a row brought no new bytes. ``on_bytes(n)`` reports progress, ``on_restart(n)``
    bytes already reported that were thrown away. Raises :class:`DownloadError`.
    """
    dest = Path(dest)
    stop = stop or threading.Event()
    partial_path = dest.with_name(dest.name + PART_SUFFIX)
    received = 0

    def count(n: int) -> None:
        nonlocal received
        received += n
        on_bytes(n)

    for attempt in range(1, policy.checksum_attempts + 1):
        partial = _Partial(partial_path, size_bytes)
        failures, best = 0, partial.have
        while partial.have < size_bytes:
            try:
                _stream(url, partial, timeout_seconds=policy.timeout_seconds, on_bytes=count,
                        on_restart=on_restart, stop=stop)
                if partial.have >= size_bytes:
                    break
                problem = f"connection closed at {format_bytes(partial.have)} of {format_bytes(size_bytes)}"
            except _NetworkError as err:
                problem = str(err)
            if partial.have > best:
                best, failures = partial.have, 0
            failures += 1
            if failures >= policy.attempts:
                raise DownloadError(
                    f"{dest.name}: {problem}; gave up after {failures} tries in a row without progress "
                    f"({url}); run again to resume from {format_bytes(partial.have)}"
                )
            delay = policy.delay_seconds(failures)
            log.warning("%s: %s; retrying in %.1f s (try %d of %d)", dest.name, problem, delay,
                        failures + 1, policy.attempts)
            if stop.wait(delay):
                raise DownloadInterrupted(url)
        digest = partial.hasher.hexdigest()
        if partial.have == size_bytes and digest == md5:
            os.replace(partial_path, dest)
            return received
        partial_path.unlink()
        problem = (f"md5 {digest}, expected {md5}" if partial.have == size_bytes
                   else f"{format_bytes(partial.have)} received, expected {format_bytes(size_bytes)}")
        if attempt == policy.checksum_attempts:
            raise DownloadError(
                f"{dest.name}: checksum mismatch ({problem}) in all {attempt} downloads from {url}; "
                "the bad file was deleted. The server (or --mirror) serves a different file than the registry lists."
            )
        log.warning("%s: checksum mismatch (%s); deleted the bad file, downloading it again (%d of %d)",
                    dest.name, problem, attempt + 1, policy.checksum_attempts)
        on_restart(partial.have)
    raise AssertionError("unreachable")  # pragma: no cover


def file_md5(path: Path) -> str:
    """The md5 hex digest of a file, read in chunks."""
    hasher = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            hasher.update(chunk)
    return hasher.hexdigest()


def _is_verified_zip(path: Path, remote: RemoteFile) -> bool:
    """True if ``path`` exists with the registry's size and md5; a wrong one is deleted."""
    if not path.is_file():
        return False
    size = path.stat().st_size
    if size == remote.size_bytes and file_md5(path) == remote.md5:
        return True
    log.warning("%s: size %s / md5 differ from the registry; deleting it and fetching it again",
                path, format_bytes(size))
    path.unlink()
    return False


# ----------------------------------------------------------------------------------------------
# Extraction


def _member_parts(name: str) -> list[str] | None:
    """The path parts of a zip member, or ``None`` if it would land outside the target folder."""
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")) or ".." in parts or (parts and parts[0].endswith(":")):
        return None
    return [p for p in parts if p not in ("", ".")]


def extract_zip(zip_path: str | Path, to: str | Path) -> dict[str, int]:
    """Extract every member of ``zip_path`` under ``to``; returns ``{relative path: size}`` of the files.

    All member names are checked first: one that is absolute or contains ``..`` refuses the whole
    zip (:class:`DownloadError`), so nothing is written outside ``to``. Each file is written under a
    temporary name, its CRC checked by :mod:`zipfile`, then renamed.
    """
    zip_path, to = Path(zip_path), Path(to)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            infos = archive.infolist()
            unsafe = [info.filename for info in infos if _member_parts(info.filename) is None]
            if unsafe:
                raise DownloadError(
                    f"{zip_path.name}: refused to extract: members {unsafe} would be written outside {to}; "
                    "nothing of this zip was extracted"
                )
            members: dict[str, int] = {}
            for info in infos:
                parts = _member_parts(info.filename) or []
                if not parts:
                    continue
                target = to.joinpath(*parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                # named after the zip too: two zips holding the same file may extract at once
                temporary = target.with_name(f"{target.name}.{zip_path.stem}{PART_SUFFIX}")
                with archive.open(info) as source, temporary.open("wb") as out:
                    shutil.copyfileobj(source, out, CHUNK_BYTES)
                os.replace(temporary, target)
                members["/".join(parts)] = info.file_size
            return members
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as err:
        raise DownloadError(f"{zip_path.name}: not a valid zip ({err})") from err


class _State:
    """``to/stasc-download.json``: which zips are extracted and the sizes of what they hold."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._zips: dict[str, dict] = {}
        if path.is_file():
            try:
                self._zips = dict(json.loads(path.read_text(encoding="utf-8"))["zips"])
            except (ValueError, KeyError, TypeError) as err:
                log.warning("%s is unreadable (%s); zips will be extracted again", path, err)

    def extracted(self, remote: RemoteFile, to: Path) -> bool:
        """True if ``remote`` was extracted from a zip with the registry's md5 and all its files are intact."""
        entry = self._zips.get(remote.name)
        if not entry or entry.get("md5") != remote.md5:
            return False
        for name, size in entry["members"].items():
            try:
                intact = (to / name).stat().st_size == size
            except OSError:
                intact = False
            if not intact:
                log.warning("%s: extracted file %s is missing or changed; this zip is fetched again", remote.name, name)
                return False
        return True

    def mark(self, remote: RemoteFile, members: dict[str, int]) -> None:
        with self._lock:
            self._zips[remote.name] = {"md5": remote.md5, "members": members}
            temporary = self.path.with_name(self.path.name + PART_SUFFIX)
            temporary.write_text(json.dumps({"version": 1, "zips": self._zips}), encoding="utf-8")
            os.replace(temporary, self.path)


def verify_dataset(root: str | Path, *, clips: bool = True) -> tuple[int, list[tuple[str, str]]]:
    """Check ``root/meta.csv`` and (``clips``) that every file it lists is present, non-empty and
    has a readable audio header. Returns ``(clips listed, [(file, problem), …])`` with every problem."""
    try:
        table = read_tau(root)
    except DatasetError as err:
        return 0, [("meta.csv", str(err))]
    return len(table), find_unreadable(table) if clips else []


# ----------------------------------------------------------------------------------------------
# The whole dataset


class _Progress:
    """tqdm bars on stderr: all bytes (top line) and one per file downloading (below)."""

    def __init__(self, total_bytes: int, jobs: int, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = threading.Lock()
        self._slots: queue.SimpleQueue[int] = queue.SimpleQueue()
        for slot in range(1, jobs + 1):
            self._slots.put(slot)
        self.overall = tqdm(total=total_bytes, desc="all files", unit="B", unit_scale=True, unit_divisor=1000,
                            position=0, disable=not enabled, dynamic_ncols=True)

    def _add(self, n: int) -> None:
        with self._lock:
            self.overall.update(n)

    def grow(self, n: int) -> None:
        """``n`` more bytes to download than planned (a file started again)."""
        with self._lock:
            self.overall.total += n
            self.overall.refresh()

    @contextmanager
    def file(self, name: str, size_bytes: int, have: int) -> Iterator[tuple[_Callback, _Callback]]:
        """Per-file bar; yields ``(on_bytes, on_restart)`` callbacks for :func:`fetch`."""
        slot = self._slots.get()
        bar = tqdm(total=size_bytes, initial=have, desc=name, unit="B", unit_scale=True, unit_divisor=1000,
                   position=slot, leave=False, disable=not self.enabled, dynamic_ncols=True)

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
        self.overall.close()


def _bytes_here(to: Path, remote: RemoteFile) -> int:
    """Bytes of ``remote`` already on disk (a finished zip or a partial download)."""
    for path in (to / remote.name, to / (remote.name + PART_SUFFIX)):
        if path.is_file() and path.stat().st_size <= remote.size_bytes:
            return path.stat().st_size
    return 0


def check_space(to: Path, pending: Sequence[RemoteFile], *, jobs: int, keep_zips: bool) -> None:
    """Raise :class:`NotEnoughSpaceError` if the disk under ``to`` cannot hold the plan.

    Plan: every pending zip extracted (its size × 1.05), plus the zips still to download: all of
    them with ``keep_zips``, else the ``jobs`` largest (each zip is deleted once extracted).
    """
    if not pending:
        return
    extraction = sum(math.ceil(f.size_bytes * EXTRACTED_PER_ZIP_BYTE) for f in pending)
    downloads = sorted((f.size_bytes - _bytes_here(to, f) for f in pending), reverse=True)
    zips = sum(downloads) if keep_zips else sum(downloads[:jobs])
    needed = extraction + zips
    existing = to
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    log.info("disk plan for %s: %s needed, %s free", to, format_bytes(needed), format_bytes(free))
    if needed > free:
        how = ("kept (--keep-zips)" if keep_zips
               else f"downloading at once (--jobs {jobs}; each is deleted once extracted)")
        raise NotEnoughSpaceError(
            f"not enough free space for {to}: {format_bytes(needed)} needed, {format_bytes(free)} free "
            f"({format_bytes(extraction)} to extract, planned as {EXTRACTED_PER_ZIP_BYTE} × the zip sizes, "
            f"+ {format_bytes(zips)} of zips {how}); free some space or choose --to on a bigger disk"
        )


def download_dataset(
    entry: DatasetEntry,
    to: str | Path,
    *,
    parts: Sequence[str] | None = None,
    mirror: str | None = None,
    jobs: int = 2,
    keep_zips: bool = False,
    policy: RetryPolicy = RetryPolicy(),
    progress: bool = True,
) -> DownloadReport:
    """Download, verify and extract ``entry`` under ``to``; the dataset lands in ``to/entry.folder``.

    ``parts`` picks groups of zips (default: all); ``mirror`` replaces the registry's base URL;
    ``jobs`` files download at once. Files already extracted and intact are skipped, partial
    downloads resumed. A file that fails does not stop the others: it is reported in
    :attr:`DownloadReport.failed`. Once all files are in, ``meta.csv`` is checked (unless only the
    doc part was asked for) and every clip it lists (unless the audio part was left out). Raises :class:`NotEnoughSpaceError` before
    anything is written if the disk is too small; ``KeyboardInterrupt`` stops the threads, keeping
    partial files for the next run.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    to = Path(to)
    if to.exists() and not to.is_dir():
        raise ValueError(f"{to}: exists and is not a folder")
    selected = entry.select(parts)
    chosen_parts = {f.part for f in selected}
    start = time.monotonic()
    state = _State(to / STATE_FILE)
    pending = [f for f in selected if not state.extracted(f, to)]
    check_space(to, pending, jobs=jobs, keep_zips=keep_zips)
    to.mkdir(parents=True, exist_ok=True)

    bars = _Progress(sum(f.size_bytes - _bytes_here(to, f) for f in pending), jobs, progress)
    stop = threading.Event()

    def process(remote: RemoteFile) -> FileOutcome:
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
        except OSError as err:  # the local disk: full, read-only, permissions
            return FileOutcome(remote.name, remote.size_bytes, "failed", received, f"{remote.name}: {err}")

    done = {f.name: FileOutcome(f.name, f.size_bytes, "present") for f in selected if f not in pending}
    try:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="stasc-download") as pool:
            futures = [pool.submit(process, f) for f in pending]
            try:
                for future in futures:
                    outcome = future.result()
                    done[outcome.name] = outcome
            except BaseException:
                stop.set()
                pool.shutdown(wait=True, cancel_futures=True)
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
