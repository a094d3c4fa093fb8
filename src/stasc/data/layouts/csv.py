"""``csv``: a generic metadata file ``filename,label[,group][,fold]`` (comma or tab separated)."""

from __future__ import annotations

import csv as csvlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from stasc.data.layouts.registry import DatasetLayout, ReadOptions, register_layout
from stasc.data.table import ClipTable, DatasetError

log = logging.getLogger(__name__)

LABEL_COLUMNS = ("label", "scene_label", "category", "class")
GROUP_COLUMNS = ("group", "identifier", "speaker", "location")
FOLD_COLUMNS = ("fold",)


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Rows of a CSV or TSV file (the delimiter is sniffed from the header line)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: cannot read metadata ({err})") from err
    lines = text.splitlines()
    if not lines:
        raise DatasetError(f"{path}: metadata file is empty")
    delimiter = "\t" if "\t" in lines[0] else ","
    reader = csvlib.DictReader(lines, delimiter=delimiter)
    header = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = header
    rows = [{k: (v or "").strip() for k, v in row.items() if k is not None} for row in reader]
    return header, rows


def _pick(header: Sequence[str], wanted: str | None, candidates: Sequence[str], path: Path, what: str) -> str | None:
    if wanted is not None:
        if wanted not in header:
            raise DatasetError(f"{path}: no column {wanted!r} for the {what}; columns are {list(header)}")
        return wanted
    return next((c for c in candidates if c in header), None)


def _find_audio_root(csv_path: Path, first_file: str) -> Path:
    """The folder the CSV's file names are relative to: its own, or one subfolder that holds them."""
    base = csv_path.parent
    if (base / first_file).exists():
        return base
    for sub in sorted(p for p in base.iterdir() if p.is_dir()):
        if (sub / first_file).exists():
            log.info("%s: audio files found under %s/", csv_path, sub.name)
            return sub
    return base


def _folds(rows: list[dict[str, str]], column: str, path: Path) -> tuple[int, ...]:
    """The official fold of every row; a row without one, or with one that is not a whole number, is an error."""
    missing = [i + 2 for i, row in enumerate(rows) if not row.get(column)]
    if missing:
        raise DatasetError(f"{path}: {len(missing)} clip(s) without a {column} (lines {missing[:10]}); every clip of "
                           f"a dataset with official folds needs one")
    try:
        return tuple(int(row[column]) for row in rows)
    except ValueError:
        bad = next(i + 2 for i, row in enumerate(rows) if not row[column].lstrip("-").isdigit())
        raise DatasetError(f"{path}, line {bad}: {column} {rows[bad - 2][column]!r} is not a whole number") from None


def read_csv(
    path: str | Path,
    *,
    filename_column: str = "filename",
    label_column: str | None = None,
    group_column: str | None = None,
    fold_column: str | None = None,
    audio_root: str | Path | None = None,
) -> ClipTable:
    """A generic CSV (``filename,label[,group][,fold]``; comma or tab separated).

    The label column defaults to the first of ``label``, ``scene_label``, ``category``, ``class``;
    the group column to the first of ``group``, ``identifier``, ``speaker``, ``location`` present
    (none: each clip is its own group); a ``fold`` column holds the dataset's official folds.
    File names are relative to ``audio_root``: by default the CSV's folder, or the one subfolder
    of it that holds the first file (e.g. FSDD's ``recordings/``).
    """
    path = Path(path)
    header, rows = read_rows(path)
    if filename_column not in header:
        raise DatasetError(f"{path}: no column {filename_column!r}; columns are {header}")
    label_col = _pick(header, label_column, LABEL_COLUMNS, path, "label")
    if label_col is None:
        raise DatasetError(f"{path}: no label column (tried {list(LABEL_COLUMNS)}); columns are {header}")
    group_col = _pick(header, group_column, GROUP_COLUMNS, path, "group")
    fold_col = _pick(header, fold_column, FOLD_COLUMNS, path, "official fold")
    if not rows:
        raise DatasetError(f"{path}: metadata lists no clips")
    empty = [i + 2 for i, row in enumerate(rows) if not row.get(filename_column) or not row.get(label_col)]
    if empty:
        raise DatasetError(f"{path}: rows without a file name or label at lines {empty[:10]}")
    files = tuple(row[filename_column] for row in rows)
    root = Path(audio_root) if audio_root is not None else _find_audio_root(path, files[0])
    labels = tuple(row[label_col] for row in rows)
    groups = tuple(row[group_col] if group_col and row.get(group_col) else f"clip:{f}" for row, f in zip(rows, files))
    folds = _folds(rows, fold_col, path) if fold_col else None
    return ClipTable(root, files, labels, groups, folds=folds, source=path)


class CSVLayout(DatasetLayout):
    """A CSV file, or a folder holding exactly one."""

    name: ClassVar[str] = "csv"

    @classmethod
    def _file(cls, path: Path) -> Path | None:
        if path.is_file():
            return path
        csvs = sorted(path.glob("*.csv"))
        if len(csvs) > 1:
            raise DatasetError(f"{path}: several CSV files {[c.name for c in csvs]}; pass the one to use")
        return csvs[0] if csvs else None

    @classmethod
    def detect(cls, path: Path) -> bool:
        return cls._file(path) is not None

    @classmethod
    def read(cls, path: Path, options: ReadOptions) -> ClipTable:
        file = cls._file(path)
        assert file is not None
        return read_csv(file, label_column=options.label_column, group_column=options.group_column,
                        fold_column=options.fold_column, audio_root=options.audio_root)


register_layout(CSVLayout)
