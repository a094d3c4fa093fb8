"""The registry shipped with stasc (``stasc/registry/``) and the errors of a bad one."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from stasc.download import format_bytes, load_registry, read_files_csv


def test_shipped_registry_lists_the_23_zenodo_files_of_tau2019(tau_meta_dir: Path) -> None:
    entry = load_registry()["tau2019-dev"]
    with (tau_meta_dir / "zenodo-files.csv").open() as handle:
        facts = [(r["url"], int(r["bytes"]), r["md5"]) for r in csv.DictReader(handle)]
    assert [(f.url, f.size_bytes, f.md5) for f in entry.files] == facts
    assert len(entry.files) == 23 and format_bytes(entry.size_bytes) == "35.6 GB"
    assert entry.parts == ("doc", "meta", "audio")
    assert [f.name for f in entry.select(["meta"])] == ["TAU-urban-acoustic-scenes-2019-development.meta.zip"]
    assert entry.folder == "TAU-urban-acoustic-scenes-2019-development"


# The facts of dcase_util 0.2.20, dcase_util/datasets/tut.py, classes
# TAUUrbanAcousticScenes_2020_Mobile_DevelopmentSet and TAUUrbanAcousticScenes_2022_Mobile_DevelopmentSet:
# 18 package_list entries each (doc, meta, audio.1-16); the totals are the sums of their remote_bytes.
@pytest.mark.parametrize(
    ("dataset_id", "record", "total_bytes", "meta_bytes", "meta_md5"),
    [
        ("tau2020-mobile-dev", 3819968, 27_364_817_167, 214_159, "6eae9db553ce48e4ea246e34e50a3cf5"),
        ("tau2022-mobile-dev", 6337421, 27_503_592_469, 1_538_781, "419b6ff6570f1030730352dc80cd8d15"),
    ],
)
def test_shipped_registry_lists_the_tau2020_and_tau2022_mobile_development_sets(
    dataset_id: str, record: int, total_bytes: int, meta_bytes: int, meta_md5: str
) -> None:
    entry = load_registry()[dataset_id]
    year = dataset_id[3:7]
    base = f"TAU-urban-acoustic-scenes-{year}-mobile-development"
    assert entry.folder == base and entry.homepage == f"https://zenodo.org/record/{record}"
    assert len(entry.files) == 18 and entry.size_bytes == total_bytes
    assert entry.parts == ("doc", "meta", "audio") and len(entry.select(["audio"])) == 16
    assert all(re.fullmatch(r"[0-9a-f]{32}", f.md5) for f in entry.files)
    assert len({f.md5 for f in entry.files}) == 18
    assert [f.url for f in entry.files] == [
        f"https://zenodo.org/record/{record}/files/{base}.{suffix}.zip"
        for suffix in ["doc", "meta", *(f"audio.{i}" for i in range(1, 17))]
    ]
    [meta] = entry.select(["meta"])
    assert (meta.name, meta.size_bytes, meta.md5) == (f"{base}.meta.zip", meta_bytes, meta_md5)


def test_registry_errors_name_the_file_line_and_value(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("url,bytes,md5,part\nhttps://x.invalid/a.zip,12,not-an-md5,audio\n")
    with pytest.raises(ValueError, match=r"bad.csv, line 2: md5 'not-an-md5' is not 32 hex digits"):
        read_files_csv(bad)
    with pytest.raises(ValueError, match=r"unknown parts \['video'\]; the parts are \['doc', 'meta', 'audio'\]"):
        load_registry()["tau2019-dev"].select(["video"])
