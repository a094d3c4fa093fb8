"""Clip-level predictions of one split: ``predictions.csv`` = ``filename,label,fold,<class>…``.

One row per validation clip; the class columns hold the clip's probabilities (they sum to 1)
and the prediction is their argmax. Training writes one file per split; reports and ensembles
read them.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stasc.atomic import replacing

FIXED_COLUMNS = ("filename", "label", "fold")


@dataclass
class Predictions:
    """``probabilities (clips, classes)``; ``labels`` are the true classes, ``folds`` the split ids."""

    filenames: list[str]
    labels: list[str]
    folds: np.ndarray
    classes: tuple[str, ...]
    probabilities: np.ndarray

    def __post_init__(self) -> None:
        self.filenames = list(self.filenames)
        self.labels = list(self.labels)
        self.classes = tuple(self.classes)
        self.folds = np.asarray(self.folds, dtype=np.int64)
        self.probabilities = np.asarray(self.probabilities, dtype=np.float64)
        n = len(self.filenames)
        if not (len(self.labels) == len(self.folds) == len(self.probabilities) == n):
            raise ValueError(
                f"filenames ({n}), labels ({len(self.labels)}), folds ({len(self.folds)}) and probabilities "
                f"({len(self.probabilities)}) must cover the same clips"
            )
        if len(set(self.classes)) != len(self.classes) or len(self.classes) < 2:
            raise ValueError(f"classes must be at least 2 distinct names, got {list(self.classes)}")
        if self.probabilities.ndim != 2 or self.probabilities.shape[1] != len(self.classes):
            raise ValueError(f"probabilities must be (clips, {len(self.classes)}), got {self.probabilities.shape}")
        if len(set(self.filenames)) != n:
            repeated = sorted({f for f in self.filenames if self.filenames.count(f) > 1})[:3]
            raise ValueError(f"each clip must appear once; repeated: {repeated}")
        unknown = sorted(set(self.labels) - set(self.classes))
        if unknown:
            raise ValueError(f"unknown class names {unknown} among the labels; the classes are {list(self.classes)}")
        if not n:
            return
        bad = ~np.isfinite(self.probabilities).all(1) | (self.probabilities < 0).any(1)
        if bad.any():
            clip = int(np.flatnonzero(bad)[0])
            raise ValueError(f"probabilities must be finite and non-negative; clip {self.filenames[clip]} has "
                             f"{self.probabilities[clip].tolist()} ({int(bad.sum())} such clips)")
        error = np.abs(self.probabilities.sum(1) - 1.0)
        if error.max() > 1e-4:
            clip = int(error.argmax())
            raise ValueError(f"each clip's probabilities must sum to 1 (within 1e-4); clip {self.filenames[clip]} "
                             f"sums to {self.probabilities[clip].sum():.6g} ({int((error > 1e-4).sum())} such clips)")

    def __len__(self) -> int:
        return len(self.filenames)

    @property
    def predicted(self) -> list[str]:
        """The predicted class of each clip: the argmax of its probabilities (the first class on ties)."""
        return [self.classes[i] for i in self.probabilities.argmax(1)]

    @property
    def targets(self) -> np.ndarray:
        """The true class indices into ``classes``, ``(clips,)`` int64."""
        lookup = {name: i for i, name in enumerate(self.classes)}
        return np.array([lookup[label] for label in self.labels], dtype=np.int64)

    def subset(self, mask: np.ndarray) -> Predictions:
        index = np.flatnonzero(mask)
        return Predictions([self.filenames[i] for i in index], [self.labels[i] for i in index], self.folds[index],
                           self.classes, self.probabilities[index])

    def by_fold(self) -> list[Predictions]:
        return [self.subset(self.folds == fold) for fold in sorted(set(self.folds.tolist()))]


def write_predictions(path: str | Path, predictions: Predictions) -> None:
    """Write ``filename,label,fold,<class>…`` atomically (a temporary file renamed into place);
    probabilities keep 8 significant digits."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FIXED_COLUMNS, *predictions.classes])
        for name, label, fold, probs in zip(predictions.filenames, predictions.labels, predictions.folds,
                                            predictions.probabilities):
            writer.writerow([name, label, int(fold), *(f"{p:.8g}" for p in probs)])


def read_predictions(path: str | Path) -> Predictions:
    """Read and validate a ``predictions.csv``; any problem raises ``ValueError`` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: predictions file not found")
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        rows = [row for row in reader if row]
    if header is None:
        raise ValueError(f"{path}: empty file; expected a header {','.join(FIXED_COLUMNS)},<class>,<class>…")
    missing = [c for c in FIXED_COLUMNS if c not in header]
    if missing or tuple(header[:3]) != FIXED_COLUMNS:
        raise ValueError(f"{path}: expected the columns {','.join(FIXED_COLUMNS)},<class>,<class>… "
                         f"(missing {missing or 'none, but out of order'}); got {header}")
    classes = tuple(header[3:])
    if len(classes) < 2 or len(set(classes)) != len(classes) or "" in classes:
        raise ValueError(f"{path}: expected at least 2 distinct, named class columns after "
                         f"{','.join(FIXED_COLUMNS)}; got {list(classes)}")
    width = len(header)
    for line, row in enumerate(rows, start=2):
        if len(row) != width:
            raise ValueError(f"{path}, line {line}: {len(row)} fields, the header has {width}")
    try:
        folds = np.array([int(row[2]) for row in rows], dtype=np.int64)
        probabilities = np.array([[float(v) for v in row[3:]] for row in rows], dtype=np.float64)
    except ValueError as err:
        raise ValueError(f"{path}: a fold is not an integer or a probability is not a number ({err})") from err
    try:
        return Predictions([r[0] for r in rows], [r[1] for r in rows], folds, classes,
                           probabilities.reshape(len(rows), len(classes)))
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def concat(parts: Sequence[Predictions]) -> Predictions:
    """The clips of all parts in order (e.g. the folds of a cross-validation); one class list."""
    if not parts:
        raise ValueError("no predictions to join")
    classes = parts[0].classes
    if any(p.classes != classes for p in parts):
        other = next(p.classes for p in parts if p.classes != classes)
        raise ValueError(f"predictions to join must share one class list: {list(classes)} vs {list(other)}")
    return Predictions(
        [f for p in parts for f in p.filenames], [label for p in parts for label in p.labels],
        np.concatenate([p.folds for p in parts]), classes, np.concatenate([p.probabilities for p in parts]),
    )
