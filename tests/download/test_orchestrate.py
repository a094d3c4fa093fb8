"""``stasc.download.download_dataset`` end to end against a local HTTP server: the TAU layout,
second runs, repairs, verification, the disk plan, and local disk errors stopping the run."""

from __future__ import annotations

import errno
import shutil
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from download_fakes import (
    FAST,
    FOLDER,
    FakeDataset,
    FakeServer,
    make_dataset,
    refuse_writing_zip_parts,
    write_registry,
    write_zip,
)

from stasc.data import open_dataset
from stasc.download import (
    STATE_FILE,
    NotEnoughSpaceError,
    check_space,
    download_dataset,
    load_registry,
    verify_dataset,
)


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


def test_a_second_run_downloads_nothing(tmp_path: Path, dataset: FakeDataset) -> None:
    to = tmp_path / "data"
    with FakeServer(dataset.served) as server:
        download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
        server.requests.clear()
        again = download_dataset(dataset.entry(), to, mirror=server.url, policy=FAST, progress=False)
    assert server.requests == []
    assert again.ok and [f.status for f in again.files] == ["present"] * 4 and again.verified_clips == 6


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


def test_verification_lists_every_missing_clip_of_the_real_tau2019_meta_csv(tau_meta_dir: Path) -> None:
    listed, problems = verify_dataset(tau_meta_dir)  # the real meta.csv, without its audio
    assert listed == 14400 and len(problems) == 14400
    assert problems[0] == ("audio/airport-lisbon-1000-40000-a.wav", "file not found")
    assert verify_dataset(tau_meta_dir, clips=False) == (14400, [])


# ----------------------------------------------------------------------------------------------
# Disk space and local disk errors


def test_disk_space_is_checked_before_anything_is_written(tmp_path: Path, dataset: FakeDataset,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    entry = dataset.entry()
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=100))
    with pytest.raises(NotEnoughSpaceError, match=r"100 B free .*planned as 1.05 × the zip sizes"):
        download_dataset(entry, tmp_path / "data", policy=FAST, progress=False)
    assert not (tmp_path / "data").exists()


def test_the_disk_plan_uses_the_sizes_a_zip_here_declares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A zip kept by an earlier run (``--keep-zips``) that compresses 4×: planning 1.05 × its size
    would let the extraction start on a disk a quarter of the size it needs."""
    to = tmp_path / "data"
    to.mkdir()
    quaternary = np.random.default_rng(0).integers(0, 4, 400_000, dtype=np.uint8).tobytes()  # 2 bits a byte
    write_zip(to / "set.meta.zip", {f"{FOLDER}/meta.bin": quaternary}, compression=zipfile.ZIP_DEFLATED)
    write_zip(to / "set.audio.zip", {f"{FOLDER}/audio.bin": bytes(1000)})
    zip_bytes = (to / "set.meta.zip").stat().st_size
    assert zip_bytes < 150_000
    zips = {"meta": to / "set.meta.zip", "audio": to / "set.audio.zip"}
    entry = load_registry(write_registry(tmp_path, zips))["tau-test"]
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=200_000))
    with pytest.raises(NotEnoughSpaceError, match=r"401.0 kB needed, 200.0 kB free \(401.0 kB to extract, "
                                                  r"the sizes the zips' members declare, \+ 0 B of zips"):
        download_dataset(entry, to, policy=FAST, progress=False)
    (to / "set.audio.zip").unlink()  # now one zip is here, one to download
    with pytest.raises(NotEnoughSpaceError, match=r"the declared sizes of the zips here \(1\) \+ 1.05 × the zip "
                                                  r"sizes of the others \(1\)"):
        check_space(to, entry.files, jobs=2, keep_zips=False)


def test_the_disk_filling_up_stops_the_run_keeping_partial_downloads(
    tmp_path: Path, dataset: FakeDataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_copy = shutil.copyfileobj

    def full_disk(source: object, out: object, length: int = 0) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    with FakeServer(dataset.served) as server:
        monkeypatch.setattr("stasc.download.archive.shutil.copyfileobj", full_disk)
        with pytest.raises(NotEnoughSpaceError, match=r"the disk filled up while extracting .*: No space left"):
            download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, jobs=1, policy=FAST,
                             progress=False)
        monkeypatch.setattr("stasc.download.archive.shutil.copyfileobj", real_copy)
        assert len(server.names()) == 1  # the first file failed to extract: the others were not started
        report = download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, policy=FAST, progress=False)
    assert report.ok and not list((tmp_path / "data").rglob("*.part"))


def test_a_permission_error_stops_the_run_naming_the_path(tmp_path: Path, dataset: FakeDataset,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_writing_zip_parts(monkeypatch)
    with FakeServer(dataset.served) as server, pytest.raises(PermissionError) as caught:
        download_dataset(dataset.entry(), tmp_path / "data", mirror=server.url, jobs=2, policy=FAST, progress=False)
    assert caught.value.filename.endswith(".zip.part") and len(server.names()) <= 2
