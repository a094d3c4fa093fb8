"""Splits: the dataset's own folds, K folds stratified by class and grouped by location, and the
validation part of a training side.

Every assignment is a pure function of (files, labels, groups, K or fraction, seed): the same
inputs always give the same split, and no group (recording location, source recording, speaker)
is on both sides of it.
"""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from stasc.atomic import replacing
from stasc.data.layouts.csv import read_rows
from stasc.data.table import ClipTable, DatasetError

FoldKind = Literal["dataset", "grouped"]


@dataclass(frozen=True)
class Folds:
    """The fold of every clip and where they came from (``dataset``: the metadata's own folds,
    numbered as there; ``grouped``: assigned here, numbered from 0)."""

    of_clip: np.ndarray  # int64 (clips,)
    kind: FoldKind

    @property
    def ids(self) -> list[int]:
        return sorted(set(self.of_clip.tolist()))

    def describe(self) -> str:
        ids = self.ids
        if self.kind == "dataset":
            return f"the dataset's own {len(ids)} folds ({', '.join(map(str, ids))}), one split per fold"
        return f"{len(ids)} folds stratified by class and grouped by location/source (numbered 0–{ids[-1]})"


def _grouped_stratified(labels: list[str], groups: list[str], *, k: int, seed: int) -> np.ndarray:
    """Fold ``0..k-1`` of every item (scikit-learn's StratifiedGroupKFold): classes balanced as far as
    the groups allow, every group in exactly one fold."""
    n_groups = len(set(groups))
    if n_groups < k:
        raise DatasetError(f"{n_groups} groups cannot fill {k} folds (each fold needs a group)")
    if max(Counter(labels).values()) < k:
        # stratification needs some class with at least k clips (e.g. 10 clips, one per class)
        warnings.warn(f"every class has fewer than {k} clips: folds are grouped but not stratified", stacklevel=3)
        names = sorted(set(groups))
        order = np.random.default_rng(seed).permutation(len(names))
        fold_of = {names[g]: i % k for i, g in enumerate(order)}
        return np.array([fold_of[g] for g in groups], dtype=np.int64)
    folds = np.full(len(labels), -1, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
        folds[held_out] = fold
    return folds


def assign_folds(table: ClipTable, *, k: int, seed: int) -> np.ndarray:
    """Grouped, stratified fold ``0..k-1`` of every clip, ``int64 (clips,)``."""
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    try:
        return _grouped_stratified(list(table.labels), list(table.groups), k=k, seed=seed)
    except DatasetError as err:
        raise DatasetError(f"{table.source or table.audio_root}: {err}") from None


def cv_folds(table: ClipTable, *, k: int | None, seed: int, kind: FoldKind | None = None) -> Folds:
    """The folds cross-validation uses: the dataset's own when it has them (unless ``kind`` is
    ``grouped``), else ``k`` grouped, stratified folds (5 when ``k`` is None)."""
    if kind == "dataset" and table.folds is None:
        raise DatasetError(f"{table.source or table.audio_root}: --folds dataset, but the metadata has no fold column")
    if table.folds is not None and kind != "grouped":
        if k is not None and k != len(set(table.folds)):
            raise DatasetError(f"{table.source or table.audio_root}: the dataset has {len(set(table.folds))} "
                               f"official folds, not --k {k}; drop --k, or pass --folds grouped for your own")
        return Folds(np.asarray(table.folds, dtype=np.int64), "dataset")
    return Folds(assign_folds(table, k=5 if k is None else k, seed=seed), "grouped")


def fold_indices(folds: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` clip indices for one fold."""
    if fold not in set(folds.tolist()):
        raise ValueError(f"fold {fold} does not exist; folds are {sorted(set(folds.tolist()))}")
    return np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)


def validation_split(
    table: ClipTable, train: np.ndarray, *, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split a training side ``train`` (indices into ``table``) into ``(fit, validation)``.

    The validation part is one of ``round(1 / fraction)`` grouped, stratified folds of the training
    side's groups, so no group is in both parts and each class keeps about its share; with fewer
    groups than that (five speakers, say), one group of them. ``fraction`` 0 gives no validation part.
    """
    if not 0 <= fraction < 1:
        raise ValueError(f"validation fraction must be in [0, 1), got {fraction}")
    train = np.asarray(train)
    if fraction == 0:
        return train, np.zeros(0, dtype=np.int64)
    labels = [table.labels[i] for i in train]
    groups = [table.groups[i] for i in train]
    n_groups = len(set(groups))
    if n_groups < 2:
        raise DatasetError(f"{table.source or table.audio_root}: the training side has {n_groups} group, nothing to "
                           "hold out for validation without leaking it; use train.selection=last")
    n_parts = min(max(2, round(1 / fraction)), n_groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class with fewer clips than parts is still split by groups
        part = _grouped_stratified(labels, groups, k=n_parts, seed=seed)
    held = part == 0
    return train[~held], train[held]


def validation_fold(
    fold_of_clip: np.ndarray, train: np.ndarray, *, test_fold: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split a training side ``train`` into ``(fit, validation)`` where the validation part is one whole fold of it.

    Which fold: counting the training side's folds cyclically from the one after ``test_fold``, the ``seed``-th
    (seed 0: the next fold), so over a cross-validation every fold is a validation part once, each a test fold's
    distance from the clips trained on. Without a test fold (the final model), the ``seed``-th training fold.
    """
    train = np.asarray(train)
    of_train = np.asarray(fold_of_clip)[train]
    ids = sorted(set(of_train.tolist()))
    if len(ids) < 2:
        raise DatasetError(f"the training side holds {len(ids)} fold, so none can be held out whole for validation; "
                           "use train.validation_part=groups or train.selection=last")
    order = ids if test_fold is None else [f for f in ids if f > test_fold] + [f for f in ids if f < test_fold]
    held = of_train == order[seed % len(order)]
    return train[~held], train[held]


def write_folds(path: str | Path, table: ClipTable, folds: np.ndarray) -> None:
    """Write ``filename,label,group,fold`` atomically (a uniquely named temporary file renamed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with replacing(path) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "label", "group", "fold"])
        for row in zip(table.files, table.labels, table.groups, folds.tolist()):
            writer.writerow(row)


def read_folds(path: str | Path, table: ClipTable) -> np.ndarray:
    """Fold numbers for ``table``'s clips from a file written by :func:`write_folds`."""
    _, rows = read_rows(Path(path))
    by_name = {row["filename"]: int(row["fold"]) for row in rows}
    missing = [name for name in table.files if name not in by_name]
    if missing:
        raise DatasetError(f"{path}: no fold for {len(missing)} clips, e.g. {missing[:3]}")
    return np.array([by_name[name] for name in table.files], dtype=np.int64)
