"""Dataset layouts: each knows how to recognise itself, read its metadata and give its official split.

A layout is one module (``stasc/data/layouts/``) with a :class:`DatasetLayout` subclass that
calls :func:`register_layout`. :func:`open_dataset` tries the layouts in their registration order
(most specific first), so a new layout touches no other file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from stasc.data.table import ClipTable, DatasetError


@dataclass(frozen=True)
class ReadOptions:
    """What a user may say about a CSV's columns (``--label-column`` …); other layouts ignore them."""

    label_column: str | None = None
    group_column: str | None = None
    fold_column: str | None = None
    audio_root: Path | None = None


class DatasetLayout(ABC):
    """One way datasets are laid out on disk."""

    name: ClassVar[str]

    @classmethod
    @abstractmethod
    def detect(cls, path: Path) -> bool:
        """Whether ``path`` (a file or folder) is in this layout."""

    @classmethod
    @abstractmethod
    def read(cls, path: Path, options: ReadOptions) -> ClipTable:
        """The clips of the dataset at ``path``."""

    @classmethod
    def official_split(cls, path: Path, table: ClipTable) -> tuple[np.ndarray, np.ndarray]:
        """``(train, test)`` indices of the dataset's official train/test split."""
        raise DatasetError(f"{path}: a {cls.name} dataset has no official train/test split; "
                           "cross-validate it or pass --fold")


_LAYOUTS: list[type[DatasetLayout]] = []


def register_layout(layout: type[DatasetLayout], *, before: str | None = None) -> None:
    """Add a layout; ``before`` puts it ahead of a registered one (a more specific layout first)."""
    if any(existing.name == layout.name for existing in _LAYOUTS):
        raise ValueError(f"dataset layout {layout.name!r} is registered twice")
    names = [existing.name for existing in _LAYOUTS]
    _LAYOUTS.insert(names.index(before) if before in names else len(_LAYOUTS), layout)


def layouts() -> list[type[DatasetLayout]]:
    return list(_LAYOUTS)


def layout_of(path: Path) -> type[DatasetLayout]:
    """The first registered layout that recognises ``path``."""
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    for layout in _LAYOUTS:
        if layout.detect(path):
            return layout
    raise DatasetError(f"{path}: not a dataset in any known layout ({', '.join(layout.name for layout in _LAYOUTS)})")


def open_dataset(path: str | Path, options: ReadOptions | None = None) -> ClipTable:
    """Read a dataset, choosing the layout from what ``path`` holds."""
    path = Path(path)
    return layout_of(path).read(path, options or ReadOptions())


def official_split(path: str | Path, table: ClipTable) -> tuple[np.ndarray, np.ndarray]:
    """The official ``(train, test)`` split of the dataset at ``path`` (TAU: fold 1)."""
    path = Path(path)
    return layout_of(path).official_split(path, table)
