"""``folders``: one subfolder per class, ``DATA/<label>/*.wav``; each clip is its own group."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from stasc.audio import audio_suffixes
from stasc.data.layouts.registry import DatasetLayout, ReadOptions, register_layout
from stasc.data.table import ClipTable, DatasetError


def read_folders(root: str | Path) -> ClipTable:
    """A folder per class: ``root/<label>/<file>`` for every file soundfile reads."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    suffixes = audio_suffixes()
    files: list[str] = []
    labels: list[str] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for audio in sorted(class_dir.rglob("*")):
            if audio.suffix.lower() in suffixes and audio.is_file():
                files.append(audio.relative_to(root).as_posix())
                labels.append(class_dir.name)
    if not files:
        raise DatasetError(f"{root}: no audio files ({', '.join(sorted(suffixes))}) in class subfolders")
    return ClipTable(root, tuple(files), tuple(labels), tuple(f"clip:{f}" for f in files), source=root)


class FolderLayout(DatasetLayout):
    """Any folder: its subfolders are the classes."""

    name: ClassVar[str] = "folders"

    @classmethod
    def detect(cls, path: Path) -> bool:
        return path.is_dir()

    @classmethod
    def read(cls, path: Path, options: ReadOptions) -> ClipTable:
        return read_folders(path)


register_layout(FolderLayout)
