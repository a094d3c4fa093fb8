"""``tau``: the TAU/TUT Urban Acoustic Scenes layout (``meta.csv``, ``audio/``, ``evaluation_setup/``)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import ClassVar

import numpy as np

from stasc.data.layouts.csv import read_csv, read_rows
from stasc.data.layouts.registry import DatasetLayout, ReadOptions, register_layout
from stasc.data.table import ClipTable, DatasetError

# audio/<scene>-<city>-<location>-<segment>[-<segment>]-<device>.wav: TAU 2019, 2020 and 2022 (1-s clips)
DEVICE_SUFFIX = re.compile(r"-([a-z]|s\d+)\.[A-Za-z0-9]+$")


def device_of(filename: str) -> str | None:
    """The recording device a TAU file name ends with (``…-a.wav`` → ``a``, ``…-s4.wav`` → ``s4``)."""
    found = DEVICE_SUFFIX.search(filename)
    return found.group(1) if found else None


def city_of(filename: str) -> str | None:
    """The city in a TAU file name (its second ``-`` field: ``audio/airport-lisbon-1000-…`` → ``lisbon``)."""
    fields = Path(filename).stem.split("-")
    return fields[1] if len(fields) >= 5 else None


def read_tau(root: str | Path) -> ClipTable:
    """``root/meta.csv`` (tab-separated ``filename scene_label identifier source_label``); groups are
    the recording locations (``identifier``), devices the ``source_label`` (else the file name's
    suffix), cities the file names' second field."""
    root = Path(root)
    meta = root / "meta.csv"
    if not meta.is_file():
        raise DatasetError(f"{root}: no meta.csv (expected the TAU layout: meta.csv, audio/, evaluation_setup/)")
    table = read_csv(meta, label_column="scene_label", group_column="identifier", audio_root=root)
    header, rows = read_rows(meta)
    labelled = ["source_label" in header and row.get("source_label") for row in rows]
    devices = [str(label) if label else device_of(name) for label, name in zip(labelled, table.files)]
    cities = [city_of(name) for name in table.files]
    return dataclasses.replace(
        table,
        devices=tuple(d or "unknown" for d in devices) if any(devices) else None,
        cities=tuple(c or "unknown" for c in cities) if any(cities) else None,
    )


class TAULayout(DatasetLayout):
    """TAU Urban Acoustic Scenes 2019 / 2020, TUT 2018: its official split is fold 1 (train / evaluate)."""

    name: ClassVar[str] = "tau"

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir() and (path / "meta.csv").is_file()

    @classmethod
    def read(cls, path: Path, options: ReadOptions) -> ClipTable:
        return read_tau(path)

    @classmethod
    def official_split(cls, path: Path, table: ClipTable) -> tuple[np.ndarray, np.ndarray]:
        """``evaluation_setup/fold1_{train,evaluate}.csv`` as indices into ``table``."""
        setup = path / "evaluation_setup"
        position = {name: i for i, name in enumerate(table.files)}
        result = []
        for part in ("train", "evaluate"):
            split_file = setup / f"fold1_{part}.csv"
            if not split_file.is_file():
                raise DatasetError(f"{path}: no official split file {split_file.relative_to(path)}")
            _, rows = read_rows(split_file)
            missing = [row["filename"] for row in rows if row["filename"] not in position]
            if missing:
                raise DatasetError(f"{split_file}: {len(missing)} files are not in meta.csv, e.g. {missing[:3]}")
            result.append(np.array([position[row["filename"]] for row in rows], dtype=np.int64))
        return result[0], result[1]


register_layout(TAULayout, before="csv")
