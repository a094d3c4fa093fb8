"""The clips of a dataset, whatever its layout: :class:`ClipTable`, and the checks run before long work."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stasc.audio import AudioError, probe


class DatasetError(ValueError):
    """A dataset that cannot be read: missing metadata, bad columns, missing or unreadable audio."""


@dataclass(frozen=True)
class ClipTable:
    """The clips of a dataset: ``files`` relative to ``audio_root``, with labels and groups.

    ``groups`` holds the recording location (TAU ``identifier``), source recording or speaker,
    which a split keeps on one side; a clip without a group is its own group. ``folds`` holds the
    dataset's own cross-validation fold of every clip (ESC-50's and UrbanSound8K's ``fold``
    column), or None. ``devices`` and ``cities`` hold each clip's recording device (TAU 2020's
    ``a``, ``b``, ``c``, ``s1`` … ``s6``) and city where the metadata or the file names tell them, else
    None. ``source`` is the metadata file the table came from (for messages).
    """

    audio_root: Path
    files: tuple[str, ...]
    labels: tuple[str, ...]
    groups: tuple[str, ...]
    classes: tuple[str, ...] = field(default=())
    folds: tuple[int, ...] | None = None
    source: Path | None = None
    devices: tuple[str, ...] | None = None
    cities: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        where = self.source or self.audio_root
        if not (len(self.files) == len(self.labels) == len(self.groups)):
            raise DatasetError(f"{where}: files, labels and groups must have the same length")
        for name in ("folds", "devices", "cities"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.files):
                raise DatasetError(f"{where}: {len(values)} {name} for {len(self.files)} clips")
        dupes = sorted(name for name, count in Counter(self.files).items() if count > 1)
        if dupes:
            raise DatasetError(f"{where}: duplicate file names in metadata: {dupes[:5]}")
        if not self.classes:
            object.__setattr__(self, "classes", tuple(sorted(set(self.labels))))
        unknown = set(self.labels) - set(self.classes)
        if unknown:
            raise DatasetError(f"{where}: labels {sorted(unknown)} are not among the classes {self.classes}")
        if self.folds is not None:
            self._check_folds(where)

    def _check_folds(self, where: Path) -> None:
        """One group in two official folds would put a source recording on both sides of a split."""
        assert self.folds is not None
        folds_of: dict[str, set[int]] = defaultdict(set)
        for group, fold in zip(self.groups, self.folds):
            folds_of[group].add(fold)
        leaks = {group: sorted(folds) for group, folds in folds_of.items() if len(folds) > 1}
        if leaks:
            shown = ", ".join(f"{group} (folds {', '.join(map(str, folds))})"
                              for group, folds in sorted(leaks.items())[:5])
            raise DatasetError(f"{where}: {len(leaks)} group(s) lie in more than one fold, so a split would train "
                               f"and test on the same source: {shown}")

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
            None if self.folds is None else tuple(self.folds[i] for i in indices),
            self.source,
            None if self.devices is None else tuple(self.devices[i] for i in indices),
            None if self.cities is None else tuple(self.cities[i] for i in indices),
        )


def find_unreadable(table: ClipTable) -> list[tuple[str, str]]:
    """Every clip whose file is missing, empty or not audio, as ``(file, problem)``.

    Reads only headers, so it is quick even for 14,400 clips; run it before long work so every
    problem is reported at once.
    """
    problems: list[tuple[str, str]] = []
    for name in table.files:
        try:
            probe(table.audio_root / name)
        except AudioError as err:
            problems.append((name, err.problem))
    return problems


def require_readable(table: ClipTable) -> None:
    """Raise one :class:`DatasetError` listing every missing or unreadable clip, if any."""
    problems = find_unreadable(table)
    if problems:
        lines = "\n".join(f"  {name}: {problem}" for name, problem in problems)
        raise DatasetError(f"{len(problems)} of {len(table)} clips under {table.audio_root} cannot be read:\n{lines}")
