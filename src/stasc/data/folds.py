"""Splits: the official TAU fold-1 split, and K folds stratified by class and grouped by location.

Fold assignment is a pure function of (files, labels, groups, K, seed): the same inputs always
give the same folds, and no group (recording location, speaker) is on both sides of a split.
"""

from __future__ import annotations

import csv
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

from stasc.data.datasets import ClipTable, DatasetError, _read_rows


def assign_folds(table: ClipTable, *, k: int, seed: int) -> np.ndarray:
    """Fold number ``0..k-1`` of every clip, ``int64 (clips,)``.

    scikit-learn's StratifiedGroupKFold: classes are balanced across folds as far as the groups
    allow, and every group sits in exactly one fold.
    """
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    n_groups = len(set(table.groups))
    if n_groups < k:
        raise DatasetError(f"{table.audio_root}: {n_groups} groups cannot fill {k} folds (each fold needs a group)")
    folds = np.full(len(table), -1, dtype=np.int64)
    if max(Counter(table.labels).values()) < k:
        # stratification needs some class with at least k clips (e.g. 10 clips, one per class)
        warnings.warn(f"every class has fewer than {k} clips: folds are grouped but not stratified", stacklevel=2)
        groups = sorted(set(table.groups))
        order = np.random.default_rng(seed).permutation(len(groups))
        fold_of = {groups[g]: i % k for i, g in enumerate(order)}
        return np.array([fold_of[g] for g in table.groups], dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros(len(table)), table.labels, table.groups)):
        folds[held_out] = fold
    return folds


def fold_indices(folds: np.ndarray, fold: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, validation)`` clip indices for one fold."""
    if fold not in set(folds.tolist()):
        raise ValueError(f"fold {fold} does not exist; folds are {sorted(set(folds.tolist()))}")
    return np.flatnonzero(folds != fold), np.flatnonzero(folds == fold)


def official_split(root: str | Path, table: ClipTable) -> tuple[np.ndarray, np.ndarray]:
    """``(train, evaluate)`` indices into ``table`` from ``evaluation_setup/fold1_{train,evaluate}.csv``."""
    setup = Path(root) / "evaluation_setup"
    position = {name: i for i, name in enumerate(table.files)}
    result = []
    for part in ("train", "evaluate"):
        path = setup / f"fold1_{part}.csv"
        if not path.is_file():
            raise DatasetError(f"{root}: no official split file {path.relative_to(root)}")
        _, rows = _read_rows(path)
        missing = [row["filename"] for row in rows if row["filename"] not in position]
        if missing:
            raise DatasetError(f"{path}: {len(missing)} files are not in meta.csv, e.g. {missing[:3]}")
        result.append(np.array([position[row["filename"]] for row in rows], dtype=np.int64))
    return result[0], result[1]


def write_folds(path: str | Path, table: ClipTable, folds: np.ndarray) -> None:
    """Write ``filename,label,group,fold`` (atomically: a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["filename", "label", "group", "fold"])
        for row in zip(table.files, table.labels, table.groups, folds.tolist()):
            writer.writerow(row)
    tmp.replace(path)


def read_folds(path: str | Path, table: ClipTable) -> np.ndarray:
    """Fold numbers for ``table``'s clips from a file written by :func:`write_folds`."""
    _, rows = _read_rows(Path(path))
    by_name = {row["filename"]: int(row["fold"]) for row in rows}
    missing = [name for name in table.files if name not in by_name]
    if missing:
        raise DatasetError(f"{path}: no fold for {len(missing)} clips, e.g. {missing[:3]}")
    return np.array([by_name[name] for name in table.files], dtype=np.int64)
