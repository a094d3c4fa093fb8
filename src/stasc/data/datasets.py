"""Dataset readers: the TAU layout, a generic CSV, and a folder per class → one :class:`ClipTable`.

``open_dataset(path)`` picks the reader: a folder with ``meta.csv`` is TAU, a ``.csv`` file (or a
folder holding exactly one) is a generic CSV, any other folder is folder-per-class.
"""

from __future__ import annotations

import csv
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import soundfile as sf

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")
LABEL_COLUMNS = ("label", "scene_label")
GROUP_COLUMNS = ("group", "identifier", "speaker", "location")


class DatasetError(ValueError):
    """A dataset that cannot be read: missing metadata, bad columns, missing or unreadable audio."""


@dataclass(frozen=True)
class ClipTable:
    """The clips of a dataset: ``files`` relative to ``audio_root``, with labels and groups.

    ``groups`` holds the recording location (TAU ``identifier``) or speaker, used to keep a group
    out of both sides of a split; a clip without a group is its own group.
    """

    audio_root: Path
    files: tuple[str, ...]
    labels: tuple[str, ...]
    groups: tuple[str, ...]
    classes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not (len(self.files) == len(self.labels) == len(self.groups)):
            raise DatasetError("files, labels and groups must have the same length")
        dupes = sorted(name for name, count in Counter(self.files).items() if count > 1)
        if dupes:
            raise DatasetError(f"{self.audio_root}: duplicate file names in metadata: {dupes[:5]}")
        if not self.classes:
            object.__setattr__(self, "classes", tuple(sorted(set(self.labels))))
        unknown = set(self.labels) - set(self.classes)
        if unknown:
            raise DatasetError(f"labels {sorted(unknown)} are not among the classes {self.classes}")

    def __len__(self) -> int:
        return len(self.files)

    def path(self, index: int) -> Path:
        return self.audio_root / self.files[index]

    @property
    def targets(self) -> list[int]:
        """Label indices into ``classes``."""
        lookup = {name: i for i, name in enumerate(self.classes)}
        return [lookup[label] for label in self.labels]

    def subset(self, indices: Sequence[int]) -> ClipTable:
        """The clips at ``indices``, keeping the class list (so label indices stay the same)."""
        return ClipTable(
            self.audio_root,
            tuple(self.files[i] for i in indices),
            tuple(self.labels[i] for i in indices),
            tuple(self.groups[i] for i in indices),
            self.classes,
        )


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Rows of a CSV or TSV file (the delimiter is sniffed from the header line)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise DatasetError(f"{path}: cannot read metadata ({err})") from err
    lines = text.splitlines()
    if not lines:
        raise DatasetError(f"{path}: metadata file is empty")
    delimiter = "\t" if "\t" in lines[0] else ","
    reader = csv.DictReader(lines, delimiter=delimiter)
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


def read_tau(root: str | Path) -> ClipTable:
    """The TAU/TUT layout: ``root/meta.csv`` (tab-separated filename, scene_label, identifier, …)."""
    root = Path(root)
    meta = root / "meta.csv"
    if not meta.is_file():
        raise DatasetError(f"{root}: no meta.csv (expected the TAU layout: meta.csv, audio/, evaluation_setup/)")
    return read_csv(meta, label_column="scene_label", group_column="identifier", audio_root=root)


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


def read_csv(
    path: str | Path,
    *,
    filename_column: str = "filename",
    label_column: str | None = None,
    group_column: str | None = None,
    audio_root: str | Path | None = None,
) -> ClipTable:
    """A generic CSV (``filename,label[,group]``; comma or tab separated).

    The label column defaults to ``label`` or ``scene_label``; the group column to the first of
    ``group``, ``identifier``, ``speaker``, ``location`` present (none: each clip is its own
    group). File names are relative to ``audio_root``: by default the CSV's folder, or the one
    subfolder of it that holds the first file (e.g. FSDD's ``recordings/``).
    """
    path = Path(path)
    header, rows = _read_rows(path)
    if filename_column not in header:
        raise DatasetError(f"{path}: no column {filename_column!r}; columns are {header}")
    label_col = _pick(header, label_column, LABEL_COLUMNS, path, "label")
    if label_col is None:
        raise DatasetError(f"{path}: no label column (tried {list(LABEL_COLUMNS)}); columns are {header}")
    group_col = _pick(header, group_column, GROUP_COLUMNS, path, "group")
    if not rows:
        raise DatasetError(f"{path}: metadata lists no clips")
    empty = [i + 2 for i, row in enumerate(rows) if not row.get(filename_column) or not row.get(label_col)]
    if empty:
        raise DatasetError(f"{path}: rows without a file name or label at lines {empty[:10]}")
    files = tuple(row[filename_column] for row in rows)
    root = Path(audio_root) if audio_root is not None else _find_audio_root(path, files[0])
    labels = tuple(row[label_col] for row in rows)
    groups = tuple(row[group_col] if group_col and row.get(group_col) else f"clip:{f}" for row, f in zip(rows, files))
    return ClipTable(root, files, labels, groups)


def read_folders(root: str | Path) -> ClipTable:
    """A folder per class: ``root/<label>/<file>.wav``; each clip is its own group."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    files: list[str] = []
    labels: list[str] = []
    for class_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for audio in sorted(class_dir.rglob("*")):
            if audio.suffix.lower() in AUDIO_SUFFIXES and audio.is_file():
                files.append(audio.relative_to(root).as_posix())
                labels.append(class_dir.name)
    if not files:
        raise DatasetError(f"{root}: no audio files ({', '.join(AUDIO_SUFFIXES)}) in class subfolders")
    return ClipTable(root, tuple(files), tuple(labels), tuple(f"clip:{f}" for f in files))


def open_dataset(path: str | Path, **csv_options: object) -> ClipTable:
    """Read a dataset, choosing the reader from what ``path`` holds (see module docstring)."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or folder")
    if path.is_file():
        return read_csv(path, **csv_options)  # type: ignore[arg-type]
    if (path / "meta.csv").is_file():
        return read_tau(path)
    csvs = sorted(path.glob("*.csv"))
    if len(csvs) == 1:
        return read_csv(csvs[0], **csv_options)  # type: ignore[arg-type]
    if len(csvs) > 1:
        raise DatasetError(f"{path}: several CSV files {[c.name for c in csvs]}; pass the one to use")
    return read_folders(path)


def find_unreadable(table: ClipTable) -> list[tuple[str, str]]:
    """Every clip whose file is missing, empty or not audio, as ``(file, problem)``.

    Reads only headers, so it is quick even for 14,400 clips; run it before long work so every
    problem is reported at once.
    """
    problems: list[tuple[str, str]] = []
    for name in table.files:
        path = table.audio_root / name
        if not path.is_file():
            problems.append((name, "file not found"))
        elif path.stat().st_size == 0:
            problems.append((name, "file is empty (0 bytes)"))
        else:
            try:
                info = sf.info(str(path))
            except (sf.LibsndfileError, RuntimeError) as err:
                problems.append((name, f"not a readable audio file ({err})"))
                continue
            if info.frames == 0:
                problems.append((name, "contains no audio frames"))
    return problems


def require_readable(table: ClipTable) -> None:
    """Raise one :class:`DatasetError` listing every missing or unreadable clip, if any."""
    problems = find_unreadable(table)
    if problems:
        lines = "\n".join(f"  {name}: {problem}" for name, problem in problems)
        raise DatasetError(f"{len(problems)} of {len(table)} clips under {table.audio_root} cannot be read:\n{lines}")
