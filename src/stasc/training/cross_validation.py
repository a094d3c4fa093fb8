"""Cross-validation and the other splits of a run: one :func:`fit` per split, resumable split by split.

The folds are written to ``RUN/folds.csv`` before the first split trains, so a resumed run (or an
ensemble of runs) uses exactly the same split even if the seed or the code changed meanwhile. A
dataset with its own folds (a ``fold`` column) is cross-validated on those, one split per fold.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from stasc.config import ConfigError, ExperimentConfig, load_experiment, save_experiment
from stasc.data import ClipTable, DatasetError, Folds, cv_folds, fold_indices, official_split, read_folds, write_folds
from stasc.data.folds import FoldKind
from stasc.runs import FINAL_SPLIT, OFFICIAL_SPLIT, RunDir, fold_split, seed_run
from stasc.training import distributed
from stasc.training.fit import SplitResult, fit, plan_split

log = logging.getLogger(__name__)


def for_dataset(config: ExperimentConfig, table: ClipTable) -> ExperimentConfig:
    """The config with the network's output size set to the dataset's number of classes."""
    if config.model.n_classes == len(table.classes):
        return config
    return config.replaced(model=config.model.replaced(n_classes=len(table.classes)))


def write_run_config(config: ExperimentConfig, run: RunDir) -> None:
    """Write ``RUN/config.yaml``; refuse a run folder that was started with another configuration."""
    run.root.mkdir(parents=True, exist_ok=True)
    if run.config.is_file():
        # name and description are labels: a renamed preset with the same settings is the same run
        previous, current = load_experiment(run.config).settings(), config.settings()
        if previous != current:
            changed = sorted(_differences(previous, current))
            raise ConfigError(
                f"{run.root} was started with another configuration (differs in {', '.join(changed)}); "
                "resume with the same preset and --set values, or use a new --out"
            )
        return
    save_experiment(config, run.config)


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = set(old) | set(new)
        return [d for k in keys for d in _differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [prefix.rstrip(".")]


def run_folds(run: RunDir, table: ClipTable, *, k: int | None, seed: int, kind: FoldKind | None = None) -> Folds:
    """The run's folds: read from ``RUN/folds.csv`` when present (and consistent), else chosen
    (:func:`stasc.data.cv_folds`) and written."""
    wanted = cv_folds(table, k=k, seed=seed, kind=kind) if not run.folds.is_file() else None
    if wanted is None:
        saved = read_folds(run.folds, table)
        official = table.folds is not None and np.array_equal(saved, np.asarray(table.folds))
        folds = Folds(saved, "dataset" if official else "grouped")
        if kind is not None and kind != folds.kind:
            raise DatasetError(f"{run.folds} holds {folds.kind} folds, not --folds {kind}; use a new --out")
        if k is not None and folds.kind == "grouped" and len(folds.ids) != k:
            raise DatasetError(f"{run.folds} holds {len(folds.ids)} folds, not the {k} asked for; use a new --out")
        return folds
    write_folds(run.folds, table, wanted.of_clip)
    return wanted


def _setup(config: ExperimentConfig, table: ClipTable, run: RunDir, folds: dict[str, Any] | None) -> ExperimentConfig:
    """Config (and folds) written once, by the main process of a launch; every process reads them."""
    config = for_dataset(config, table)

    def write() -> None:
        write_run_config(config, run)
        if folds is not None:
            run_folds(run, table, **folds)

    distributed.once(write, then=lambda: None)
    return config


def train_fold(
    config: ExperimentConfig, table: ClipTable, run: Path | RunDir, *, fold: int, k: int | None = None,
    folds_kind: FoldKind | None = None, cache_root: Path, resume: bool = False, progress: bool = True,
    workers: int | None = None,
) -> SplitResult:
    """Train with fold ``fold`` as the test fold (the dataset's own folds, or K grouped ones)."""
    run = RunDir(Path(run)) if not isinstance(run, RunDir) else run
    config = _setup(config, table, run, {"k": k, "seed": config.train.seed, "kind": folds_kind})
    folds = run_folds(run, table, k=k, seed=config.train.seed, kind=folds_kind)
    train, test = fold_indices(folds.of_clip, fold)
    plan = plan_split(config, table, train, test, name=fold_split(fold), folds=folds.kind, fold_of_clip=folds.of_clip)
    return fit(config, table, plan, run.split(plan.name), cache_root=cache_root, fold_ids=folds.of_clip,
               resume=resume, progress=progress, extract_workers=workers)


def train_official(
    config: ExperimentConfig, table: ClipTable, data_root: Path, run: Path | RunDir, *, cache_root: Path,
    resume: bool = False, progress: bool = True, workers: int | None = None,
) -> SplitResult:
    """Train on the dataset's official train/test split (TAU: ``evaluation_setup/fold1_{train,evaluate}.csv``)."""
    run = RunDir(Path(run)) if not isinstance(run, RunDir) else run
    config = _setup(config, table, run, None)
    train, test = official_split(data_root, table)
    plan = plan_split(config, table, train, test, name=OFFICIAL_SPLIT, folds="official")
    return fit(config, table, plan, run.split(plan.name), cache_root=cache_root,
               fold_ids=np.zeros(len(table), dtype=np.int64), resume=resume, progress=progress, extract_workers=workers)


def train_final(
    config: ExperimentConfig, table: ClipTable, run: Path | RunDir, *, cache_root: Path, resume: bool = False,
    progress: bool = True, workers: int | None = None,
) -> SplitResult:
    """The model for new audio: every labelled clip but the validation part (no test clips)."""
    run = RunDir(Path(run)) if not isinstance(run, RunDir) else run
    config = _setup(config, table, run, None)
    plan = plan_split(config, table, np.arange(len(table)), np.zeros(0, dtype=np.int64), name=FINAL_SPLIT,
                      folds="none", fold_of_clip=None if table.folds is None else np.asarray(table.folds))
    return fit(config, table, plan, run.split(plan.name), cache_root=cache_root, resume=resume, progress=progress,
               extract_workers=workers)


def seed_runs(config: ExperimentConfig, table: ClipTable, run: Path | RunDir, *, seeds: int, k: int | None = None,
              folds_kind: FoldKind | None = None) -> list[tuple[ExperimentConfig, RunDir]]:
    """A run repeated over ``seeds`` seeds: ``RUN/seed-S/`` for S = train.seed, train.seed + 1, …, each
    with the folds of ``RUN/folds.csv`` (chosen once, from the first seed), so only the training
    randomness (initialisation, order, augmentation, the validation part) differs."""
    run = RunDir(Path(run)) if not isinstance(run, RunDir) else run
    if seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {seeds}")
    config = _setup(config, table, run, {"k": k, "seed": config.train.seed, "kind": folds_kind})
    folds = run_folds(run, table, k=k, seed=config.train.seed, kind=folds_kind)
    out = []
    for seed in range(config.train.seed, config.train.seed + seeds):
        member = RunDir(run.root / seed_run(seed))
        seeded = config.replaced(train=config.train.replaced(seed=seed))

        def write(member: RunDir = member, seeded: ExperimentConfig = seeded) -> None:
            write_run_config(seeded, member)
            if not member.folds.is_file():
                write_folds(member.folds, table, folds.of_clip)

        distributed.once(write, then=lambda: None)
        out.append((seeded, member))
    return out


def cross_validate(
    config: ExperimentConfig, table: ClipTable, run: Path | RunDir, *, k: int | None = None,
    folds_kind: FoldKind | None = None, cache_root: Path, progress: bool = True, workers: int | None = None,
    seeds: int = 1,
) -> list[SplitResult]:
    """Every fold (of every seed); a finished fold is kept, an interrupted one resumes from its last checkpoint."""
    run = RunDir(Path(run)) if not isinstance(run, RunDir) else run
    if seeds > 1:
        return [result for seeded, member in seed_runs(config, table, run, seeds=seeds, k=k, folds_kind=folds_kind)
                for result in cross_validate(seeded, table, member, k=k, folds_kind=folds_kind, cache_root=cache_root,
                                             progress=progress, workers=workers)]
    _setup(config, table, run, {"k": k, "seed": config.train.seed, "kind": folds_kind})
    folds = run_folds(run, table, k=k, seed=config.train.seed, kind=folds_kind)
    log.info("cross-validating on %s", folds.describe())
    return [train_fold(config, table, run, fold=fold, k=k, folds_kind=folds_kind, cache_root=cache_root, resume=True,
                       progress=progress, workers=workers)
            for fold in folds.ids]
