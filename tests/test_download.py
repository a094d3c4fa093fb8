"""``stasc.download`` against a local HTTP server on 127.0.0.1 (never the internet).

The server serves small zips in the TAU layout (real WAV files written with soundfile, a meta.csv
listing them) described by their own registry; its behaviours (drop the connection half-way,
ignore Range, corrupt a byte, answer 503, stall) reproduce what users meet with the real servers.
``tests/cli/test_download_cli.py`` reuses :class:`FakeServer` and :func:`make_dataset`.
"""

from __future__ import annotations

import csv
import hashlib
import http.server
import re
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from stasc.data.datasets import open_dataset
from stasc.download import (
    STATE_FILE,
    DatasetEntry,
    DownloadError,
    NotEnoughSpaceError,
    RetryPolicy,
    download_dataset,
    extract_zip,
    fetch,
    format_bytes,
    load_registry,
    read_files_csv,
    verify_dataset,
)

FOLDER = "TAU-test-development"
FAST = RetryPolicy(attempts=3, checksum_attempts=2, backoff_seconds=0.01, timeout_seconds=2.0)
SCENES = ("airport", "bus", "park", "tram", "metro", "street_traffic")


# ----------------------------------------------------------------------------------------------
# The fake server and dataset (also used by tests/cli/test_download_cli.py)


@dataclass
class FakeServer:
    """A threaded HTTP server on 127.0.0.1 serving the files of ``root``, with faults to inject.

    ``drop_at[name]``: close the connection once that many bytes of the file are sent (once);
    ``corrupt[name]``: flip a byte in the next N responses; ``statuses[name]``: answer these HTTP
    errors first; ``stall[name]``: sleep this long before the body (once); ``no_range``: ignore Range.
    Paths under ``/old/`` are redirected to ``/files/`` (as Zenodo redirects its record URLs).
    ``requests`` logs ``(name, Range header, status)``.
    """

    root: Path
    no_range: bool = False
    drop_at: dict[str, int] = field(default_factory=dict)
    corrupt: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    stall: dict[str, float] = field(default_factory=dict)
    requests: list[tuple[str, str | None, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/files"

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def names(self) -> list[str]:
        return [name for name, _, _ in self.requests]

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

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            try:
                server._respond(self)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up on a stalled answer
                pass

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
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


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data)


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
    with (tmp_path / "tau-test.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["url", "bytes", "md5", "part"])
        for key, content in members.items():
            zips[key] = f"{FOLDER}.{key}.zip"
            path = served / zips[key]
            _write_zip(path, content)
            data = path.read_bytes()
            writer.writerow([f"https://example.invalid/record/1/files/{zips[key]}", len(data),
                             hashlib.md5(data).hexdigest(), key.split(".")[0]])
    (tmp_path / "datasets.csv").write_text(f"id,title,files,folder\ntau-test,A test set,tau-test.csv,{FOLDER}\n")
    return FakeDataset(tmp_path / "datasets.csv", served, tuple(clips), zips)


def tree(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


@pytest.fixture()
def dataset(tmp_path: Path) -> FakeDataset:
    return make_dataset(tmp_path)


# ----------------------------------------------------------------------------------------------
# The shipped registry


def test_shipped_registry_lists_the_23_zenodo_files_of_tau2019(tau_meta_dir: Path) -> None:
    entry = load_registry()["tau2019-dev"]
    with (tau_meta_dir / "zenodo-files.csv").open() as handle:
        facts = [(r["url"], int(r["bytes"]), r["md5"]) for r in csv.DictReader(handle)]
    assert [(f.url, f.size_bytes, f.md5) for f in entry.files] == facts
    assert len(entry.files) == 23 and format_bytes(entry.size_bytes) == "35.6 GB"
    assert entry.parts == ("doc", "meta", "audio")
    assert [f.name for f in entry.select(["meta"])] == ["TAU-urban-acoustic-scenes-2019-development.meta.zip"]
    assert entry.folder == "TAU-urban-acoustic-scenes-2019-development"


def test_registry_errors_name_the_file_line_and_value(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("url,bytes,md5,part\nhttps://x.invalid/a.zip,12,not-an-md5,audio\n")
    with pytest.raises(ValueError, match=r"bad.csv, line 2: md5 'not-an-md5' is not 32 hex digits"):
        read_files_csv(bad)
    with pytest.raises(ValueError, match=r"unknown parts \['video'\]; the parts are \['doc', 'meta', 'audio'\]"):
        load_registry()["tau2019-dev"].select(["video"])


# ----------------------------------------------------------------------------------------------
# The six promises of the issue


def test_clean_download_gives_the_tau_layout_verified(tmp_path: Path, dataset: FakeDataset) -> None:
    to = tmp_path / "data"
    with FakeServer(dataset.served) as server:
        report = download_dataset(dataset.entry(), to, mirror=server.url, jobs=3, policy=FAST, progress=False)
    assert report.ok, report
    assert sorted(server.names()) == sorted(dataset.zips.values())
    assert all(rng is None and status == 200 for _, rng, status in server.requests)
    assert report.dataset_path == to / FOLDER and report.verified_clips == 6
    assert [f.status for f in report.files] == ["downloaded"] * 4
    table = open_dataset(report.dataset_path)  # what `stasc extract --data` reads
    assert sorted(table.files) == sorted(dataset.clips) and (report.dataset_path / "evaluation_setup").is_dir()
    assert {p.name for p in to.iterdir()} == {FOLDER, STATE_FILE}  # zips deleted once extracted
    assert not list(to.rglob("*.part"))


def test_resume_after_the_server_drops_the_connection_half_way(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["audio.1"]
    half = (dataset.served / name).stat().st_size // 2
    with FakeServer(dataset.served, drop_at={name: half}) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, policy=FAST, progress=False)
    assert report.ok, report
    assert [(rng, status) for n, rng, status in server.requests if n == name] == [(None, 200), (f"bytes={half}-", 206)]
    # the resumed bytes were counted once: exactly the file's size came over the network
    assert next(f for f in report.files if f.name == name).received_bytes == (dataset.served / name).stat().st_size


def test_a_resume_keeps_its_range_through_a_redirect(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["audio.2"]
    half = (dataset.served / name).stat().st_size // 2
    with FakeServer(dataset.served, drop_at={name: half}) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url.replace("/files", "/old"),
                                  policy=FAST, progress=False)
    assert report.ok, report
    resume = f"bytes={half}-"
    answers = [(rng, status) for n, rng, status in server.requests if n == name]
    assert answers == [(None, 302), (None, 200), (resume, 302), (resume, 206)]


def test_a_partial_file_from_an_interrupted_run_is_resumed(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["audio.2"]
    data = (dataset.served / name).read_bytes()
    dest = tmp_path / "data" / name
    dest.parent.mkdir()
    Path(f"{dest}.part").write_bytes(data[:1000])
    with FakeServer(dataset.served) as server:
        received = fetch(f"{server.url}/{name}", dest, size_bytes=len(data), md5=hashlib.md5(data).hexdigest(),
                         policy=FAST)
    assert server.requests == [(name, "bytes=1000-", 206)]
    assert received == len(data) - 1000 and dest.read_bytes() == data and not Path(f"{dest}.part").exists()


def test_a_corrupted_byte_is_deleted_retried_then_fails_clearly(tmp_path: Path, dataset: FakeDataset,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    name = dataset.zips["audio.2"]
    to = tmp_path / "data"
    with FakeServer(dataset.served, corrupt={name: 99}) as server:
        report = download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
    assert not report.ok and [f.name for f in report.failed] == [name]
    error = report.failed[0].error
    assert error.startswith(f"{name}: checksum mismatch (md5 ") and "in all 2 downloads" in error
    assert "the bad file was deleted" in error
    assert server.names().count(name) == FAST.checksum_attempts
    assert f"{name}: checksum mismatch" in caplog.text and "deleted the bad file" in caplog.text
    assert not (to / name).exists() and not (to / f"{name}.part").exists()
    # the other zips are done and kept done; verification waits for a complete set
    assert sum(f.status == "downloaded" for f in report.files) == 3
    assert report.notes == ["verification of meta.csv skipped: some files failed"]


def test_a_corrupted_download_is_fixed_by_the_retry(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["meta"]
    with FakeServer(dataset.served, corrupt={name: 1}) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, policy=FAST, progress=False)
    assert report.ok and server.names().count(name) == 2


def test_a_server_without_range_support_restarts_the_file(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["audio.1"]
    size = (dataset.served / name).stat().st_size
    with FakeServer(dataset.served, no_range=True, drop_at={name: size // 2}) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, policy=FAST, progress=False)
    assert report.ok, report
    answers = [(rng, status) for n, rng, status in server.requests if n == name]
    assert answers == [(None, 200), (f"bytes={size // 2}-", 200)]
    assert next(f for f in report.files if f.name == name).received_bytes == size // 2 + size


def test_a_zip_with_a_path_traversal_member_is_refused(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, evil_member="../evil.txt")
    to = tmp_path / "deep" / "data"
    before = tree(tmp_path)
    with FakeServer(dataset.served) as server:
        report = download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
    name = dataset.zips["audio.2"]
    assert [f.name for f in report.failed] == [name]
    assert "refused to extract: members ['../evil.txt'] would be written outside" in report.failed[0].error
    assert tree(tmp_path) - before == {"deep"} | {f"deep/{p}" for p in tree(tmp_path / "deep")}
    assert not (tmp_path / "deep" / "evil.txt").exists()
    assert not any((to / FOLDER / clip).exists() for clip in dataset.clips[3:])  # nothing of that zip


@pytest.mark.parametrize("member", ["/etc/evil.txt", "a/../../evil.txt", "..\\evil.txt", "C:/evil.txt"])
def test_extract_refuses_every_kind_of_escaping_member(tmp_path: Path, member: str) -> None:
    _write_zip(tmp_path / "evil.zip", {"ok.txt": b"fine", member: b"outside!"})
    with pytest.raises(DownloadError, match="refused to extract"):
        extract_zip(tmp_path / "evil.zip", tmp_path / "to")
    assert not (tmp_path / "to").exists()


def test_a_second_run_downloads_nothing(tmp_path: Path, dataset: FakeDataset) -> None:
    to = tmp_path / "data"
    with FakeServer(dataset.served) as server:
        download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
        server.requests.clear()
        again = download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
    assert server.requests == []
    assert again.ok and [f.status for f in again.files] == ["present"] * 4 and again.verified_clips == 6


# ----------------------------------------------------------------------------------------------
# Repairs, retries, verification, space


def test_a_deleted_clip_makes_only_its_zip_fetched_again(tmp_path: Path, dataset: FakeDataset) -> None:
    to = tmp_path / "data"
    with FakeServer(dataset.served) as server:
        download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
        (to / FOLDER / dataset.clips[4]).unlink()
        server.requests.clear()
        report = download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
    assert report.ok and server.names() == [dataset.zips["audio.2"]]


def test_a_kept_zip_is_extracted_without_downloading(tmp_path: Path, dataset: FakeDataset) -> None:
    to = tmp_path / "data"
    with FakeServer(dataset.served) as server:
        download_dataset(dataset.entry(), to, mirror=server.url, keep_zips=True, policy=FAST, progress=False)
        assert all((to / name).is_file() for name in dataset.zips.values())
        (to / STATE_FILE).unlink()  # forget what was extracted
        server.requests.clear()
        report = download_dataset(dataset.entry(), to, mirror=server.url, keep_zips=True, policy=FAST, progress=False)
    assert report.ok and server.requests == [] and [f.status for f in report.files] == ["extracted"] * 4


def test_a_wrong_zip_in_the_target_folder_is_replaced(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["meta"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / name).write_bytes(b"not the zip the registry lists")
    with FakeServer(dataset.served) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, policy=FAST, progress=False)
    assert report.ok and server.names().count(name) == 1


def test_http_errors_and_timeouts_are_retried_with_backoff(tmp_path: Path, dataset: FakeDataset,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    meta, audio = dataset.zips["meta"], dataset.zips["audio.1"]
    policy = RetryPolicy(attempts=3, backoff_seconds=0.01, timeout_seconds=1.0)  # 1 s: slack for a busy machine
    with FakeServer(dataset.served, statuses={meta: [503, 502]}, stall={audio: 3.0}) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, policy=policy, progress=False)
    assert report.ok, report
    assert [status for n, _, status in server.requests if n == meta] == [503, 502, 200]
    assert server.names().count(audio) == 2
    assert f"{meta}: HTTP 503 Service Unavailable; retrying in 0.0 s (try 2 of 3)" in caplog.text
    assert "timed out" in caplog.text


def test_missing_files_and_dead_servers_fail_clearly(tmp_path: Path, dataset: FakeDataset) -> None:
    doc = dataset.zips["doc"]
    (dataset.served / doc).unlink()
    with FakeServer(dataset.served) as server:
        report = download_dataset(dataset.entry(), tmp_path / "a", mirror=server.url, policy=FAST, progress=False)
        port = server.url.split(":")[2].split("/")[0]
    assert [f.name for f in report.failed] == [doc] and server.names().count(doc) == 1  # 404: no retry
    assert report.failed[0].error == f"{server.url}/{doc}: HTTP 404 Not Found"
    # the server is gone now: connection refused, retried `attempts` times, then a clear failure
    dead = download_dataset(dataset.entry(), tmp_path / "b", parts=["doc"], mirror=f"http://127.0.0.1:{port}/files",
                            policy=FAST, progress=False)
    assert "Connection refused; gave up after 3 tries in a row without progress" in dead.failed[0].error


def test_every_missing_or_unreadable_clip_of_meta_csv_is_listed(tmp_path: Path) -> None:
    dataset = make_dataset(tmp_path, unlisted_clip=True)
    with FakeServer(dataset.served) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, policy=FAST, progress=False)
    assert not report.failed and not report.ok
    assert report.verified_clips == 7 and report.problems == [("audio/bus-paris-9-90-a.wav", "file not found")]


def test_parts_select_zips_and_say_what_was_not_checked(tmp_path: Path, dataset: FakeDataset) -> None:
    with FakeServer(dataset.served) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", parts=["meta", "doc"], mirror=server.url,
                                  policy=FAST, progress=False)
    assert report.ok and sorted(server.names()) == sorted([dataset.zips["doc"], dataset.zips["meta"]])
    assert report.notes == ["meta.csv lists 6 clips; not checked: the audio part was left out"]


def test_a_file_url_mirror_works_without_range(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["audio.1"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / f"{name}.part").write_bytes(b"stale bytes")  # file:// cannot resume: start again
    report = download_dataset(dataset.entry(), tmp_path / "data", mirror=dataset.served.as_uri(), policy=FAST,
                              progress=False)
    assert report.ok and report.verified_clips == 6


def test_disk_space_is_checked_before_anything_is_written(tmp_path: Path, dataset: FakeDataset,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    entry = dataset.entry()
    monkeypatch.setattr("stasc.download.shutil.disk_usage", lambda path: SimpleNamespace(free=100))
    with pytest.raises(NotEnoughSpaceError, match=r"100 B free .*planned as 1.05 × the zip sizes"):
        download_dataset(entry, tmp_path / "data", policy=FAST, progress=False)
    assert not (tmp_path / "data").exists()


def test_verification_lists_every_missing_clip_of_the_real_tau2019_meta_csv(tau_meta_dir: Path) -> None:
    listed, problems = verify_dataset(tau_meta_dir)  # the real meta.csv, without its audio
    assert listed == 14400 and len(problems) == 14400
    assert problems[0] == ("audio/airport-lisbon-1000-40000-a.wav", "file not found")
    assert verify_dataset(tau_meta_dir, clips=False) == (14400, [])
