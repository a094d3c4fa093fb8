"""Cross-validation: one :func:`fit` per fold, resumable fold by fold, then the report.

The folds are written to ``RUN/folds.csv`` before the first fold trains, so a resumed run (or an
ensemble of runs) uses exactly the same split even if the seed or the code changed meanwhile.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from stasc.config import ExperimentConfig
from stasc.data.datasets import ClipTable, DatasetError
from stasc.data.folds import assign_folds, fold_indices, official_split, read_folds, write_folds
from stasc.training.fit import SplitResult, fit, write_run_config

log = logging.getLogger(__name__)


def run_folds(run: Path, table: ClipTable, *, k: int, seed: int) -> np.ndarray:
    """The run's folds: read from ``RUN/folds.csv`` when present (and consistent), else assigned and written."""
    path = run / "folds.csv"
    if path.is_file():
        folds = read_folds(path, table)
        if len(set(folds.tolist())) != k:
            raise DatasetError(f"{path} holds {len(set(folds.tolist()))} folds, not the {k} asked for; use a new --out")
        return folds
    folds = assign_folds(table, k=k, seed=seed)
    run.mkdir(parents=True, exist_ok=True)
    write_folds(path, table, folds)
    return folds


def split_folder(run: Path, split: str) -> Path:
    return run / split


def for_dataset(config: ExperimentConfig, table: ClipTable) -> ExperimentConfig:
    """The config with the network's output size set to the dataset's number of classes."""
    if config.model.n_classes == len(table.classes):
        return config
    model = dataclasses.replace(config.model, n_classes=len(table.classes))
    return dataclasses.replace(config, model=model)


def train_fold(
    config: ExperimentConfig, table: ClipTable, run: Path, *, fold: int, k: int, cache_root: Path,
    resume: bool = False, progress: bool = True, workers: int = 0,
) -> SplitResult:
    """Train fold ``fold`` of ``k`` (folds grouped by location, stratified by class)."""
    config = for_dataset(config, table)
    write_run_config(config, run)
    folds = run_folds(run, table, k=k, seed=config.train.seed)
    train, val = fold_indices(folds, fold)
    return fit(
        config, table, train, val, split_folder(run, f"fold-{fold}"), cache_root=cache_root, split=f"fold-{fold}",
        fold_ids=folds, resume=resume, progress=progress, extract_workers=workers,
    )


def train_official(
    config: ExperimentConfig, table: ClipTable, data_root: Path, run: Path, *, cache_root: Path,
    resume: bool = False, progress: bool = True, workers: int = 0,
) -> SplitResult:
    """Train on the official TAU fold-1 split (``evaluation_setup/fold1_{train,evaluate}.csv``)."""
    config = for_dataset(config, table)
    write_run_config(config, run)
    train, val = official_split(data_root, table)
    return fit(
        config, table, train, val, split_folder(run, "official"), cache_root=cache_root, split="official",
        fold_ids=np.zeros(len(table), dtype=np.int64), resume=resume, progress=progress, extract_workers=workers,
    )


def cross_validate(
    config: ExperimentConfig, table: ClipTable, run: Path, *, k: int, cache_root: Path,
    progress: bool = True, workers: int = 0,
) -> list[SplitResult]:
    """Every fold; a fold whose ``result.json`` exists is kept, an interrupted one resumes from last.ckpt."""
    results = []
    for fold in range(k):
        log.info("fold %d of %d", fold + 1, k)
        results.append(
            train_fold(config, table, run, fold=fold, k=k, cache_root=cache_root, resume=True, progress=progress,
                       workers=workers)
        )
    return results
