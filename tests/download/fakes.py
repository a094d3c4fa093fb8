"""A local HTTP server on 127.0.0.1 (never the internet) and small datasets in the TAU layout, for
the tests of ``stasc.download`` (this folder, loaded by its ``conftest.py``) and of ``stasc download``
(``tests/cli/test_download_cli.py``).

The server serves small zips in the TAU layout (real WAV files written with soundfile, a meta.csv
listing them) described by their own registry; its behaviours (drop the connection half-way,
ignore Range, corrupt a byte, answer 503, stall, flood) reproduce what users meet with the real
servers.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import http.server
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import soundfile as sf

from stasc.download import DatasetEntry, RetryPolicy, load_registry

if TYPE_CHECKING:
    from typing_extensions import Self

FOLDER = "TAU-test-development"
FAST = RetryPolicy(attempts=3, checksum_attempts=2, backoff_seconds=0.01, timeout_seconds=2.0)
SCENES = ("airport", "bus", "park", "tram", "metro", "street_traffic")
FLOOD_BLOCK = 1 << 16


@dataclass
class FakeServer:
    """A threaded HTTP server on 127.0.0.1 serving the files of ``root``, with faults to inject.

    ``drop_at[name]``: close the connection once that many bytes of the file are sent (once);
    ``corrupt[name]``: flip a byte in the next N responses; ``statuses[name]``: answer these HTTP
    errors first; ``stall[name]``: sleep this long before the body (once); ``no_range``: ignore Range;
    ``flood[name] = (n, announce)``: answer with ``n`` zero bytes instead of the file, with a
    Content-Length of ``n`` if ``announce`` (else none: the body ends when the connection closes).
    Paths under ``/old/`` are redirected to ``/files/`` (as Zenodo redirects its record URLs).
    ``requests`` logs ``(name, Range header, status)``; ``sent[name]`` counts the bytes of the body
    the server managed to send.
    """

    root: Path
    no_range: bool = False
    drop_at: dict[str, int] = field(default_factory=dict)
    corrupt: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    stall: dict[str, float] = field(default_factory=dict)
    flood: dict[str, tuple[int, bool]] = field(default_factory=dict)
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/files"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def names(self) -> list[str]:
        return [name for name, _, _ in self.requests]

    def _send_flood(self, handler: http.server.BaseHTTPRequestHandler, name: str, n: int, announce: bool) -> None:
        with self._lock:
            self.requests.append((name, handler.headers.get("Range"), 200))
        handler.send_response(200)
        if announce:
            handler.send_header("Content-Length", str(n))
        handler.end_headers()
        block = bytes(FLOOD_BLOCK)
        self.sent[name] = 0
        handler.close_connection = True
        while self.sent[name] < n:
            handler.wfile.write(block[: n - self.sent[name]])
            self.sent[name] += min(FLOOD_BLOCK, n - self.sent[name])

    def _respond(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        name = handler.path.rsplit("/", 1)[-1]
        range_header = handler.headers.get("Range")
        if handler.path.startswith("/old/"):
            with self._lock:
                self.requests.append((name, range_header, 302))
            handler.send_response(302)
            handler.send_header("Location", f"/files/{name}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        if name in self.flood:
            self._send_flood(handler, name, *self.flood[name])
            return
        with self._lock:
            forced = self.statuses.get(name, []).pop(0) if self.statuses.get(name) else None
            corrupt = self.corrupt.get(name, 0) > 0
            if corrupt:
                self.corrupt[name] -= 1
            drop_at = self.drop_at.pop(name, None)
            stall = self.stall.pop(name, 0.0)
        path = self.root / name
        data = bytearray(path.read_bytes()) if path.is_file() else None
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", range_header or "")
        if forced is not None or data is None:
            status = forced or 404
        elif match and not self.no_range:
            start = int(match.group(1))
            status = 206 if start < len(data) else 416
        else:
            status = 200
        with self._lock:
            self.requests.append((name, range_header, status))
        if status not in (200, 206):
            handler.send_error(status)
            return
        if corrupt:
            data[len(data) // 2] ^= 0xFF
        handler.send_response(status)
        if status == 206:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.send_header("Content-Length", str(len(data) - start))
        handler.end_headers()
        time.sleep(stall)
        end = drop_at if drop_at is not None and drop_at > start else len(data)
        handler.wfile.write(bytes(data[start:end]))
        handler.close_connection = True


def _make_handler(server: FakeServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        timeout = 5

        def do_GET(self) -> None:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (a stall, a flood)
                server._respond(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@dataclass(frozen=True)
class FakeDataset:
    registry: Path  # the index CSV
    served: Path  # the folder the server serves
    clips: tuple[str, ...]  # meta.csv file names
    zips: dict[str, str]  # part or "audio.N" → zip file name

    def entry(self) -> DatasetEntry:
        return load_registry(self.registry)["tau-test"]


def write_zip(path: Path, members: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> None:
    """A zip holding ``members`` (name → bytes), stored or compressed."""
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            archive.writestr(info, data)


def write_registry(folder: Path, zips: dict[str, Path], *, dataset_folder: str = FOLDER) -> Path:
    """A registry (index ``datasets.csv`` + ``tau-test.csv``) listing ``zips`` (part → file) as
    dataset ``tau-test``, with their real sizes and md5 sums; returns the index."""
    with (folder / "tau-test.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["url", "bytes", "md5", "part"])
        for part, path in zips.items():
            data = path.read_bytes()
            writer.writerow([f"https://example.invalid/record/1/files/{path.name}", len(data),
                             hashlib.md5(data).hexdigest(), part.split(".")[0]])
    (folder / "datasets.csv").write_text(f"id,title,files,folder\ntau-test,A test set,tau-test.csv,{dataset_folder}\n")
    return folder / "datasets.csv"


def make_dataset(tmp_path: Path, *, unlisted_clip: bool = False, evil_member: str | None = None) -> FakeDataset:
    """Four zips in the TAU layout (doc, meta, audio.1, audio.2 with 3 clips each) and their registry.

    ``unlisted_clip``: meta.csv also lists a clip that no zip holds; ``evil_member``: audio.2 also
    holds a member with this name (e.g. ``../evil.txt``).
    """
    served = tmp_path / "served"
    served.mkdir()
    rng = np.random.default_rng(0)
    clips, wavs = [], {}
    for i, scene in enumerate(SCENES):
        name = f"audio/{scene}-lyon-{i}-{i * 10}-a.wav"
        scratch = tmp_path / "clip.wav"
        sf.write(scratch, rng.uniform(-0.5, 0.5, (400, 2)).astype(np.float32), 8000, subtype="PCM_16")
        wavs[f"{FOLDER}/{name}"] = scratch.read_bytes()
        clips.append(name)
    listed = clips + (["audio/bus-paris-9-90-a.wav"] if unlisted_clip else [])
    meta = "filename\tscene_label\tidentifier\tsource_label\n" + "".join(
        f"{name}\t{name.split('/')[1].split('-')[0]}\tlyon-{i}\ta\n" for i, name in enumerate(listed)
    )
    audio = list(wavs.items())
    members = {
        "doc": {f"{FOLDER}/README.md": b"# a test dataset in the TAU layout\n"},
        "meta": {f"{FOLDER}/meta.csv": meta.encode(), f"{FOLDER}/evaluation_setup/fold1_train.csv": meta.encode()},
        "audio.1": dict(audio[:3]),
        "audio.2": dict(audio[3:]) | ({evil_member: b"outside!"} if evil_member else {}),
    }
    zips = {}
    for key, content in members.items():
        zips[key] = served / f"{FOLDER}.{key}.zip"
        write_zip(zips[key], content)
    registry = write_registry(tmp_path, zips)
    return FakeDataset(registry, served, tuple(clips), {key: path.name for key, path in zips.items()})


def tree(folder: Path) -> set[str]:
    """Every path under ``folder``, relative, as POSIX strings."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


def refuse_writing_zip_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every append to a ``.zip.part`` file fail with EACCES, as on a folder that turned read-only."""
    real_open = Path.open

    def read_only_parts(self: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        if self.name.endswith(".zip.part") and "a" in mode:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_open(self, mode, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(Path, "open", read_only_parts)
