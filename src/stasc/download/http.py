"""One file over HTTP(S) or ``file://``: streamed to a ``.part`` file, resumed with Range
requests, retried with back-off, bounded by the registry's byte count and checked against its md5."""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from stasc import __version__
from stasc.disk import filled_up, is_no_space
from stasc.download.errors import DownloadError, DownloadInterrupted
from stasc.download.files import CHUNK_BYTES, md5_of, part_path
from stasc.download.formatting import format_bytes

log = logging.getLogger(__name__)

RETRY_HTTP_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
"""HTTP answers that say "try again later"; any other error status fails the file at once."""

Callback = Callable[[int], None]
"""Progress callbacks: ``on_bytes(n)``: n new bytes; ``on_restart(n)``: n bytes already reported were thrown away."""


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


DEFAULT_RETRY_POLICY = RetryPolicy()
"""The policy used when none is given (the defaults of ``stasc download``)."""


class _NetworkError(Exception):
    """A failure worth retrying: timeout, reset, dropped connection, HTTP 5xx/429."""


class _Oversize(Exception):
    """The server sends more than the registry lists (the message says how much it announced or
    sent): a different file, not a network blip, so it is not retried."""


class _Partial:
    """A ``.part`` file being written, with the md5 of its bytes so far."""

    def __init__(self, path: Path, size_bytes: int) -> None:
        self.path = path
        self.hasher = hashlib.md5()
        self.have = 0
        if path.is_file():
            size = path.stat().st_size
            if size > size_bytes:
                log.warning("%s: %s is larger than the expected %s; starting again", path,
                            format_bytes(size), format_bytes(size_bytes))
                path.unlink()
            else:
                self.hasher, self.have = md5_of(path), size

    def update(self, chunk: bytes) -> None:
        """Count and hash ``chunk``, just appended to the file."""
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
    """A network error in one line, with its type when the message alone does not say it."""
    if isinstance(err, urllib.error.URLError) and not isinstance(err, urllib.error.HTTPError):
        err = err.reason if isinstance(err.reason, BaseException) else err
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if type(err).__name__ not in text else text


def _counted(n: int) -> str:
    """``n`` exactly and readably, for messages comparing sizes: ``2000 bytes (2.0 kB)``."""
    return f"{n} bytes ({format_bytes(n)})"


def _check_announced_length(headers: Message, partial: _Partial, size_bytes: int) -> None:
    """Raise :class:`_Oversize` if the response announces more bytes than the file has left.

    (A shorter one is left to the size and md5 checks: it may be a resume or a dropped transfer.)
    """
    announced = headers.get("Content-Length")
    if announced is None or not announced.strip().isdigit():
        return
    if int(announced) > size_bytes - partial.have:
        start = f" from byte {partial.have}" if partial.have else ""
        raise _Oversize(f"a Content-Length of {_counted(int(announced))}{start}")


def _stream(url: str, partial: _Partial, *, size_bytes: int, timeout_seconds: float, on_bytes: Callback,
            on_restart: Callback, stop: threading.Event) -> None:
    """One HTTP request: append what the server sends to ``partial`` (resuming from ``partial.have``),
    reading at most up to ``size_bytes``.

    Raises :class:`_NetworkError` for what is worth retrying, :class:`_Oversize` if the server
    announces or sends more than ``size_bytes``, :class:`DownloadError` for other permanent
    failures. Returns when the response ends (possibly short: the caller compares sizes).
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
        _check_announced_length(response.headers, partial, size_bytes)
        with partial.path.open("ab") as out:
            while partial.have < size_bytes:
                if stop.is_set():
                    raise DownloadInterrupted(url)
                try:  # read1: what has arrived (steady progress on slow links), never past the listed size
                    chunk = response.read1(min(CHUNK_BYTES, size_bytes - partial.have))
                except (OSError, http.client.HTTPException) as err:  # timeout, reset, IncompleteRead
                    raise _NetworkError(_describe(err)) from err
                if not chunk:
                    return
                out.write(chunk)
                partial.update(chunk)
                on_bytes(len(chunk))
        try:  # the listed bytes are in: anything more means the server serves another file
            extra = response.read1(CHUNK_BYTES)
        except (OSError, http.client.HTTPException):
            extra = b""  # no clean end, but nothing more either: the md5 decides
        if extra:
            raise _Oversize(f"at least {_counted(partial.have + len(extra))}")


def fetch(
    url: str,
    dest: str | Path,
    *,
    size_bytes: int,
    md5: str,
    policy: RetryPolicy = DEFAULT_RETRY_POLICY,
    on_bytes: Callback = lambda n: None,
    on_restart: Callback = lambda n: None,
    stop: threading.Event | None = None,
) -> int:
    """Download ``url`` to ``dest``, verified; returns the bytes received over the network.

    Bytes go to ``dest.part`` (an existing one is resumed with a Range request; a server that
    ignores Range makes it start again from 0); ``dest`` appears only once size and md5 match. A
    mismatch deletes the bad file and downloads it again, up to ``policy.checksum_attempts`` times.
    Network errors and timeouts are retried with doubling back-off until ``policy.attempts``
    failures in a row brought no new bytes. ``size_bytes`` bounds the download: no more is read,
    and a server announcing or sending more fails the file at once (no retry; the ``.part`` is
    deleted), since it serves something else than the registry lists. ``on_bytes(n)`` reports
    progress, ``on_restart(n)`` bytes already reported that were thrown away.

    Raises :class:`DownloadError`; :class:`NotEnoughSpaceError` if the disk fills up (the ``.part``
    is kept to resume); other ``OSError`` for other local disk problems.
    """
    dest = Path(dest)
    stop = stop or threading.Event()
    partial_path = part_path(dest)
    received = 0

    def count(n: int) -> None:
        nonlocal received
        received += n
        on_bytes(n)

    attempt = 1
    while True:
        partial = _Partial(partial_path, size_bytes)
        failures, best = 0, partial.have
        while partial.have < size_bytes:
            try:
                _stream(url, partial, size_bytes=size_bytes, timeout_seconds=policy.timeout_seconds, on_bytes=count,
                        on_restart=on_restart, stop=stop)
                if partial.have >= size_bytes:
                    break
                problem = f"connection closed at {format_bytes(partial.have)} of {format_bytes(size_bytes)}"
            except _NetworkError as err:
                problem = str(err)
            except _Oversize as err:
                partial_path.unlink(missing_ok=True)
                raise DownloadError(
                    f"{dest.name}: the server sends more than the registry lists: {err}, for a file listed as "
                    f"{_counted(size_bytes)} ({url}); stopped reading and deleted the partial file. The server "
                    "(or --mirror) serves a different file than the registry lists."
                ) from None
            except OSError as err:
                if is_no_space(err):
                    raise filled_up(err, partial_path, size_bytes - partial.have,
                                    f"the disk filled up while downloading {dest.name}; the "
                                    f"{format_bytes(partial.have)} received are kept to resume") from err
                raise
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
        digest = partial.hasher.hexdigest()  # reading is bounded: exactly size_bytes are here
        if digest == md5:
            os.replace(partial_path, dest)
            return received
        partial_path.unlink()
        if attempt == policy.checksum_attempts:
            raise DownloadError(
                f"{dest.name}: checksum mismatch (md5 {digest}, expected {md5}) in all {attempt} downloads from "
                f"{url}; the bad file was deleted. The server (or --mirror) serves a different file than the "
                "registry lists."
            )
        log.warning("%s: checksum mismatch (md5 %s, expected %s); deleted the bad file, downloading it again "
                    "(%d of %d)", dest.name, digest, md5, attempt + 1, policy.checksum_attempts)
        on_restart(partial.have)
        attempt += 1
