"""Clip-level predictions of one split: ``predictions.csv`` = ``filename,label,fold,<class>…``.

One row per validation clip; the class columns hold the clip's probabilities (they sum to 1)
and the prediction is their argmax. Training writes one file per split; reports and ensembles
read them.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
        self.folds = np.asarray(self.folds, dtype=np.int64)
        self.probabilities = np.asarray(self.probabilities, dtype=np.float64)
        n = len(self.filenames)
        if not (len(self.labels) == len(self.folds) == self.probabilities.shape[0] == n):
            raise ValueError("filenames, labels, folds and probabilities must cover the same clips")
        if self.probabilities.ndim != 2 or self.probabilities.shape[1] != len(self.classes):
            raise ValueError(f"probabilities must be (clips, {len(self.classes)}), got {self.probabilities.shape}")
        unknown = sorted(set(self.labels) - set(self.classes))
        if unknown:
            raise ValueError(f"labels {unknown} are not among the classes {list(self.classes)}")
        if n and (not np.isfinite(self.probabilities).all() or (self.probabilities < 0).any()):
            raise ValueError("probabilities must be finite and non-negative")
        if n and np.abs(self.probabilities.sum(1) - 1.0).max() > 1e-4:
            raise ValueError("each clip's probabilities must sum to 1 (within 1e-4)")

    def __len__(self) -> int:
        return len(self.filenames)

    @property
    def predicted(self) -> list[str]:
        return [self.classes[i] for i in self.probabilities.argmax(1)]

    @property
    def targets(self) -> np.ndarray:
        lookup = {name: i for i, name in enumerate(self.classes)}
        return np.array([lookup[label] for label in self.labels], dtype=np.int64)

    def subset(self, mask: np.ndarray) -> Predictions:
        index = np.flatnonzero(mask)
        return Predictions([self.filenames[i] for i in index], [self.labels[i] for i in index], self.folds[index],
                           self.classes, self.probabilities[index])

    def by_fold(self) -> list[Predictions]:
        return [self.subset(self.folds == fold) for fold in sorted(set(self.folds.tolist()))]


def write_predictions(path: str | Path, predictions: Predictions) -> None:
    """Write atomically (a temporary file renamed into place)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*FIXED_COLUMNS, *predictions.classes])
        for name, label, fold, probs in zip(predictions.filenames, predictions.labels, predictions.folds,
                                            predictions.probabilities):
            writer.writerow([name, label, int(fold), *(f"{p:.8g}" for p in probs)])
    os.replace(tmp, path)


def read_predictions(path: str | Path) -> Predictions:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: predictions file not found")
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        rows = list(reader)
    if header is None or tuple(header[:3]) != FIXED_COLUMNS or len(header) < 5:
        raise ValueError(f"{path}: expected columns {','.join(FIXED_COLUMNS)},<class>,<class>…; got {header}")
    classes = tuple(header[3:])
    try:
        probabilities = np.array([[float(v) for v in row[3:]] for row in rows], dtype=np.float64).reshape(-1, len(classes))
        folds = np.array([int(row[2]) for row in rows], dtype=np.int64)
    except (ValueError, IndexError) as err:
        raise ValueError(f"{path}: a row is not filename,label,fold,<{len(classes)} probabilities> ({err})") from err
    try:
        return Predictions([r[0] for r in rows], [r[1] for r in rows], folds, classes, probabilities)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from err


def concat(parts: Sequence[Predictions]) -> Predictions:
    if not parts:
        raise ValueError("no predictions to join")
    classes = parts[0].classes
    if any(p.classes != classes for p in parts):
        raise ValueError("predictions to join must share one class list")
    return Predictions(
        [f for p in parts for f in p.filenames], [label for p in parts for label in p.labels],
        np.concatenate([p.folds for p in parts]), classes, np.concatenate([p.probabilities for p in parts]),
    )
