"""The feature cache on real disks: read-only, full, and shared by two processes at once."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import FSDD, fsdd_subset
from stasc.cli import main
from stasc.data import read_csv
from stasc.extraction import extract
from stasc.features.cache import FeatureCache
from stasc.features.registry import parse_feature

FEATURE = parse_feature({"kind": "logmel", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 40})


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*")}


@pytest.fixture()
def table(tmp_path: Path):
    return read_csv(fsdd_subset(tmp_path, 2, digits="0123"), audio_root=FSDD / "recordings")


def test_a_complete_cache_is_only_read(tmp_path: Path, table) -> None:
    # what a read-only disk needs: training, prediction and extraction over a complete cache write nothing to it
    extract(table, FEATURE, tmp_path / "cache", progress=False)
    before = snapshot(tmp_path / "cache")
    again = extract(table, FEATURE, tmp_path / "cache", progress=False)
    assert again.extracted == 0 and again.cached_before == len(table)
    cache = FeatureCache(tmp_path / "cache", FEATURE)
    assert len(cache) == len(table) and np.isfinite(cache.load(table.files[0])).all()
    assert snapshot(tmp_path / "cache") == before


def test_a_full_disk_is_one_line_and_status_3_keeping_what_was_committed(tmp_path: Path, table,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import errno

    data = tmp_path / "subset.csv"
    data.write_text(Path(table.source).read_text())
    args = ["extract", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--cache", str(tmp_path / "c"),
            "--no-progress", "--part-mb", "0.05", "--set",
            "input.features=[{kind: logmel, sample_rate: 8000, n_fft: 256, hop_length: 64, n_mels: 40}]"]
    saves = []
    real_save = np.save

    def save_then_fill_up(handle, array):  # the third part meets a full disk
        saves.append(array.nbytes)
        if len(saves) == 3:
            handle.write(b"x" * 100)
            raise OSError(errno.ENOSPC, "No space left on device")
        real_save(handle, array)

    monkeypatch.setattr(np, "save", save_then_fill_up)
    assert main(args) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not enough free space for" in err[0] and "needed" in err[0], err
    assert "every part committed before is kept" in err[0]
    cache = FeatureCache(tmp_path / "c", FEATURE)
    assert not list(cache.path.rglob("*.tmp")) and len(list(cache.parts_dir.glob("*.npy"))) == 2
    kept = cache.entries()
    assert 0 < len(kept) < len(table) and all(np.isfinite(cache.load(name)).all() for name in kept)
    monkeypatch.setattr(np, "save", real_save)
    assert main(args) == 0  # room again: the run finishes the rest
    assert len(FeatureCache(tmp_path / "c", FEATURE).entries(refresh=True)) == len(table)


# both processes import everything, then start extracting at the same moment (a file appearing)
EXTRACT = """
import sys, time
from pathlib import Path
from stasc.cli import main
go = Path(sys.argv[1])
while not go.exists():
    time.sleep(0.01)
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.slow
def test_two_processes_on_one_cache_never_compute_a_clip_twice(tmp_path: Path) -> None:
    # a promise for clusters: array jobs (or two users) filling one cache share the work
    data = fsdd_subset(tmp_path, 6)
    args = ["extract", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--cache", str(tmp_path / "c"),
            "--no-progress", "--part-mb", "0.2", "--set",
            "input.features=[{kind: logmel, sample_rate: 8000, n_fft: 256, hop_length: 64, n_mels: 40}]"]
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", EXTRACT, str(go), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    import time

    time.sleep(8)  # both have imported stasc by now
    go.touch()
    outputs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    extracted = [int(out.split(" extracted")[0].split(",")[-1].strip().split()[0]) for out, _ in outputs]
    clips = len(list(csv.DictReader(data.open())))
    assert sum(extracted) == clips, extracted  # nothing computed twice (usually the work is split between the two)
    cache = FeatureCache(tmp_path / "c", FEATURE)
    names = [n for part in cache.parts_dir.glob("*.json") for n in json.loads(part.read_text())]
    assert len(names) == len(set(names)) == clips
    assert not list((cache.path / "claims").iterdir())  # every claim released
    assert main([*args[:6], str(tmp_path / "one"), *args[7:]]) == 0  # the same cache from one process
    alone = FeatureCache(tmp_path / "one", FEATURE)
    for name in names:
        np.testing.assert_array_equal(cache.load(name), alone.load(name))


def test_a_claim_of_a_process_that_is_gone_is_taken_over(tmp_path: Path, table) -> None:
    cache = FeatureCache(tmp_path / "cache", FEATURE)
    claims = cache.claims
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    claims.folder.mkdir(parents=True)
    path = claims._path(table.files[0])
    path.write_text(f"{socket.gethostname()} {int(gone.stdout)}")  # a pid that has exited
    live = claims._path(table.files[1])
    live.write_text(f"{socket.gethostname()} {os.getppid()}")  # a running process (the test's parent)
    assert claims.take(table.files[0]) and path.read_text() == claims.owner
    assert not claims.take(table.files[1])
    claims.release([table.files[0], table.files[1]])
    assert not path.exists() and live.exists()  # only this process's own claims are released
