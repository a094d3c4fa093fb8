"""``stasc download`` end to end: a local HTTP server on 127.0.0.1, exit codes, what is printed."""

from __future__ import annotations

import errno
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from stasc.cli import build_parser, main

# The fake server and dataset live with the library tests (tests/download/fakes.py); load them from there.
if "download_fakes" not in sys.modules:
    _fakes = Path(__file__).parents[1] / "download" / "fakes.py"
    _spec = importlib.util.spec_from_file_location("download_fakes", _fakes)
    assert _spec is not None and _spec.loader is not None
    sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_spec.name])
helpers = sys.modules["download_fakes"]

KNOWN = "tau2019-dev, tau2020-mobile-dev, tau2022-mobile-dev"


def download(dataset: helpers.FakeDataset, server: helpers.FakeServer, to: Path, *extra: str) -> int:
    """``stasc download`` of the fake dataset from the fake server, with a tiny back-off."""
    return main(["download", "tau-test", "--to", str(to), "--registry", str(dataset.registry), "--mirror", server.url,
                 "--backoff", "0.01", "--timeout", "2", "--no-progress", *extra])


def test_download_then_a_second_run_that_downloads_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = helpers.make_dataset(tmp_path)
    to = tmp_path / "data"
    with helpers.FakeServer(dataset.served) as server:
        assert download(dataset, server, to, "--jobs", "3") == 0
        first = capsys.readouterr().out
        server.requests.clear()
        assert download(dataset, server, to) == 0
        second = capsys.readouterr().out
        assert server.requests == []
    path = to / helpers.FOLDER
    assert f"dataset: {path}\n" in first and (path / "meta.csv").is_file()
    assert "4 files, " in first and ": 4 downloaded (" in first
    assert "verified: all 6 clips listed in meta.csv are present and readable" in first
    assert f"next: stasc extract --data {path} " in first
    assert ": 0 downloaded (0 B in " in second and "4 already in place, 0 failed" in second
    assert f"dataset: {path}\n" in second


def test_a_dropped_connection_resumes_and_a_server_without_range_restarts(tmp_path: Path) -> None:
    dataset = helpers.make_dataset(tmp_path)
    name = dataset.zips["audio.1"]
    half = (dataset.served / name).stat().st_size // 2
    with helpers.FakeServer(dataset.served, drop_at={name: half}) as server:
        assert download(dataset, server, tmp_path / "a") == 0
    assert [r for n, r, _ in server.requests if n == name] == [None, f"bytes={half}-"]
    with helpers.FakeServer(dataset.served, drop_at={name: half}, no_range=True) as server:
        assert download(dataset, server, tmp_path / "b") == 0
    assert [s for n, _, s in server.requests if n == name] == [200, 200]


def test_a_corrupted_file_fails_with_exit_1_naming_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = helpers.make_dataset(tmp_path)
    name = dataset.zips["audio.2"]
    with helpers.FakeServer(dataset.served, corrupt={name: 99}) as server:
        assert download(dataset, server, tmp_path / "data", "--retries", "2") == 1
    assert server.names().count(name) == 3  # the default: 3 downloads before giving up
    captured = capsys.readouterr()
    assert f"failed: {name}: checksum mismatch (md5 " in captured.err
    assert "incomplete: 1 files failed" in captured.out and "dataset:" not in captured.out


def test_a_path_traversal_member_fails_with_exit_1_and_writes_nothing_outside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = helpers.make_dataset(tmp_path, evil_member="../../evil.txt")
    with helpers.FakeServer(dataset.served) as server:
        assert download(dataset, server, tmp_path / "out" / "data") == 1
    assert "refused to extract: members ['../../evil.txt']" in capsys.readouterr().err
    assert not list(tmp_path.rglob("evil.txt"))


def test_missing_clips_are_listed_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dataset = helpers.make_dataset(tmp_path, unlisted_clip=True)
    with helpers.FakeServer(dataset.served) as server:
        assert download(dataset, server, tmp_path / "data") == 1
    captured = capsys.readouterr()
    assert "1 files of " in captured.err and "  audio/bus-paris-9-90-a.wav: file not found" in captured.err
    assert "verification: 1 files missing or unreadable (listed above)" in captured.out


def test_not_enough_disk_space_exits_3_saying_how_much_is_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=10**9))
    assert main(["download", "tau2019-dev", "--to", str(tmp_path / "data"), "--no-progress"]) == 3
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(f"stasc download: error: not enough free space for {tmp_path / 'data'}: ")
    assert "41.0 GB needed, 1.0 GB free (37.4 GB to extract" in line
    assert not (tmp_path / "data").exists()


def test_the_disk_filling_up_mid_extraction_exits_3_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(source: object, out: object, length: int = 0) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("stasc.download.archive.shutil.copyfileobj", full_disk)
    dataset = helpers.make_dataset(tmp_path)
    to = tmp_path / "data"
    with helpers.FakeServer(dataset.served) as server:
        assert download(dataset, server, to, "--jobs", "1") == 3
    captured = capsys.readouterr()
    [line] = captured.err.splitlines()
    assert line.startswith(f"stasc download: error: not enough free space for {to / helpers.FOLDER / 'README.md'}: ")
    assert " needed, " in line and "the disk filled up while extracting " in line and captured.out == ""


def test_a_local_file_error_exits_2_in_one_line_naming_the_path(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    dataset = helpers.make_dataset(tmp_path)
    with helpers.FakeServer(dataset.served) as server:
        assert download(dataset, server, tmp_path / "a-file" / "data") == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"stasc download: error: {tmp_path / 'a-file' / 'data'}: Not a directory"


def test_permission_denied_mid_run_exits_2_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    helpers.refuse_writing_zip_parts(monkeypatch)
    dataset = helpers.make_dataset(tmp_path)
    with helpers.FakeServer(dataset.served) as server:
        assert download(dataset, server, tmp_path / "data", "--jobs", "1") == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line == f"stasc download: error: {tmp_path / 'data' / dataset.zips['doc']}.part: Permission denied"


def test_list_shows_the_known_datasets_and_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["download", "--list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("tau2019-dev  23 files, 35.6 GB  TAU Urban Acoustic Scenes 2019, development dataset")
    assert "parts: doc (1 file, 11.3 kB), meta (1 file, 156.9 kB), audio (21 files, 35.6 GB)" in out
    assert "\ntau2020-mobile-dev  18 files, 27.4 GB  TAU Urban Acoustic Scenes 2020 Mobile, development" in out
    assert "\ntau2022-mobile-dev  18 files, 27.5 GB  TAU Urban Acoustic Scenes 2022 Mobile, development" in out


def test_list_into_a_closed_pipe_ends_quietly() -> None:
    """``stasc download --list | head -1``: the reader is gone before stasc writes (the read end
    is closed before it starts, so this does not depend on timing)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run([sys.executable, "-m", "stasc", "download", "--list"], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    finally:
        os.close(write_end)
    assert result.returncode in (0, 141), result.stderr
    assert "BrokenPipeError" not in result.stderr and "Traceback" not in result.stderr
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["download"], f"name a dataset to download ({KNOWN}), or pass --list"),
        (["download", "tau2018"], f"unknown dataset 'tau2018'; known: {KNOWN}"),
        (["download", "tau2019-dev"], "--to DIR is required"),
        (["download", "tau2019-dev", "--to", "x", "--parts", "audio,video"], "unknown parts ['video']"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_help_has_examples_and_exit_statuses() -> None:
    text = build_parser()._subparsers._group_actions[0].choices["download"].format_help()  # type: ignore[union-attr]
    assert "stasc download tau2019-dev --to data" in text and "stasc download --list" in text
    assert "exit status: 0 dataset complete and verified; 1 " in text and "; 2 bad usage" in text
    assert "; 3 not enough disk space" in text
