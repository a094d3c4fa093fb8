"""``stasc.download.fetch`` and the network side of ``download_dataset``: resume, redirects,
retries, checksums, and downloads bounded by the registry's byte counts."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from download_fakes import FAST, FakeDataset, FakeServer

from stasc.download import DownloadError, RetryPolicy, download_dataset, fetch
from stasc.download.files import CHUNK_BYTES


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


def test_a_file_url_mirror_works_without_range(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["audio.1"]
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / f"{name}.part").write_bytes(b"stale bytes")  # file:// cannot resume: start again
    report = download_dataset(dataset.entry(), tmp_path / "data", mirror=dataset.served.as_uri(), policy=FAST,
                              progress=False)
    assert report.ok and report.verified_clips == 6


# ----------------------------------------------------------------------------------------------
# Bounded by the registry


FLOOD_BYTES = 40_000_000
LISTED_BYTES = 2_000


@pytest.mark.parametrize("announce", [True, False], ids=["content-length", "no-content-length"])
def test_a_server_sending_more_than_listed_is_refused_at_once(tmp_path: Path, announce: bool) -> None:
    """40 MB for a file listed as 2 kB: read no further than the listed size (+ one chunk, to see
    that more is coming), fail without retrying, and leave no partial file."""
    name = "flood.zip"
    dest = tmp_path / "data" / name
    dest.parent.mkdir()
    received: list[int] = []
    with FakeServer(tmp_path, flood={name: (FLOOD_BYTES, announce)}) as server, pytest.raises(DownloadError) as caught:
        fetch(f"{server.url}/{name}", dest, size_bytes=LISTED_BYTES, md5="0" * 32, policy=FAST,
              on_bytes=received.append)
    message = str(caught.value)
    assert message.startswith(f"{name}: the server sends more than the registry lists: ")
    assert "for a file listed as 2000 bytes (2.0 kB)" in message and "deleted the partial file" in message
    if announce:  # refused on the header: not a byte read
        assert "a Content-Length of 40000000 bytes (40.0 MB)" in message and sum(received) == 0
    else:
        seen = re.search(r"at least (\d+) bytes", message)
        assert seen and LISTED_BYTES < int(seen.group(1)) <= LISTED_BYTES + CHUNK_BYTES
        assert sum(received) == LISTED_BYTES
    assert server.names() == [name]  # a permanent error: no retry
    assert server.sent[name] < FLOOD_BYTES  # the client hung up long before the end
    assert sum(received) <= LISTED_BYTES + CHUNK_BYTES
    assert list(dest.parent.iterdir()) == []


def test_an_oversized_zip_fails_only_its_file(tmp_path: Path, dataset: FakeDataset) -> None:
    name = dataset.zips["audio.1"]
    with FakeServer(dataset.served, flood={name: (FLOOD_BYTES, False)}) as server:
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, policy=FAST, progress=False)
    assert [f.name for f in report.failed] == [name] and server.names().count(name) == 1
    assert "the server sends more than the registry lists" in report.failed[0].error
    assert sum(f.status == "downloaded" for f in report.files) == 3
    assert not (tmp_path / "data" / f"{name}.part").exists()
