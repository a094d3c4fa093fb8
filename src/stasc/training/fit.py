"""``fit``: train one split of an experiment and write its checkpoints, logs and predictions.

A run folder holds one subfolder per split (``fold-0`` …, or ``official``)::

    RUN/config.yaml                    the resolved experiment
    RUN/folds.csv                      the fold of every clip (cross-validation)
    RUN/<split>/checkpoints/best.ckpt  best validation clip accuracy; last.ckpt for --resume
    RUN/<split>/logs/metrics.csv       per-epoch metrics (CSV); RUN/<split>/tensorboard/ for TensorBoard
    RUN/<split>/predictions.csv        clip probabilities of the validation clips (best checkpoint)
    RUN/<split>/result.json            written last: the split is complete
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from torch.utils.data import DataLoader

from stasc.config import ConfigError, ExperimentConfig, load_experiment, save_experiment, to_dict
from stasc.data.datasets import ClipTable, DatasetError, require_readable
from stasc.evaluation.predictions import Predictions, write_predictions
from stasc.features.cache import FeatureCache
from stasc.features.extract import extract
from stasc.training.data import PatchDataset, PatchPlan, fit_normalizers
from stasc.training.module import SceneClassifier

log = logging.getLogger(__name__)


@dataclass
class SplitResult:
    """The outcome of one trained split."""

    split: str
    folder: Path
    best_val_acc: float
    epochs: int
    predictions: Path

    def to_dict(self) -> dict[str, Any]:
        return {"split": self.split, "best_val_acc": self.best_val_acc, "epochs": self.epochs,
                "predictions": self.predictions.name}


def feature_caches(config: ExperimentConfig, cache_root: Path) -> list[FeatureCache]:
    return [
        FeatureCache(cache_root, spec, mono_views=config.input.mono_views, dtype=config.input.cache_dtype)
        for spec in config.input.features
    ]


def ensure_features(
    config: ExperimentConfig, table: ClipTable, cache_root: Path, *, workers: int = 0, progress: bool = True
) -> list[FeatureCache]:
    """Extract whatever the cache lacks for ``table``; a clip that fails stops the run with all failures listed."""
    for spec in config.input.features:
        report = extract(
            table, spec, cache_root, mono_views=config.input.mono_views, dtype=config.input.cache_dtype,
            workers=workers, progress=progress,
        )
        if report.failures:
            lines = "\n".join(f"  {table.audio_root / n}: {p}" for n, p in report.failures)
            raise DatasetError(f"{len(report.failures)} clips could not be featurised:\n{lines}")
    return feature_caches(config, cache_root)


def _trainer_options(config: ExperimentConfig) -> dict[str, Any]:
    train = config.train
    precision = train.precision
    if precision == "auto":
        precision = "bf16-mixed" if torch.cuda.is_available() and train.accelerator in ("auto", "gpu", "cuda") else "32-true"
    return {
        "accelerator": train.accelerator,
        "devices": train.devices,
        "num_nodes": train.num_nodes,
        "strategy": train.strategy,
        "precision": precision,
        "max_epochs": train.max_epochs,
        "limit_train_batches": train.limit_train_batches,
    }


def _loader(dataset: PatchDataset, config: ExperimentConfig, *, train: bool) -> DataLoader:
    workers = config.train.num_workers
    generator = torch.Generator().manual_seed(config.train.seed)
    return DataLoader(
        dataset,
        batch_size=config.train.batch_size if train else config.train.eval_batch_size,
        shuffle=train,
        drop_last=False,
        num_workers=workers,
        persistent_workers=workers > 0,
        generator=generator if train else None,
        pin_memory=torch.cuda.is_available(),
    )


def fit(
    config: ExperimentConfig,
    table: ClipTable,
    train_indices: np.ndarray,
    val_indices: np.ndarray,
    folder: str | Path,
    *,
    cache_root: str | Path,
    split: str,
    fold_ids: np.ndarray | None = None,
    resume: bool = False,
    progress: bool = True,
    extract_workers: int = 0,
) -> SplitResult:
    """Train on ``train_indices``, select on ``val_indices`` (clip accuracy), write the split folder."""
    folder = Path(folder)
    done = folder / "result.json"
    if done.is_file() and resume:
        saved = json.loads(done.read_text())
        log.info("%s is complete; not training it again", folder)
        return SplitResult(split, folder, saved["best_val_acc"], saved["epochs"], folder / saved["predictions"])
    if len(train_indices) == 0 or len(val_indices) == 0:
        raise DatasetError(f"split {split}: {len(train_indices)} training and {len(val_indices)} validation clips")
    folder.mkdir(parents=True, exist_ok=True)
    L.seed_everything(config.train.seed, workers=True, verbose=False)

    used = table.subset(np.concatenate([train_indices, val_indices]).tolist())
    require_readable(used)
    caches = ensure_features(config, used, Path(cache_root), workers=extract_workers, progress=progress)
    train_files = [table.files[i] for i in train_indices]
    val_files = [table.files[i] for i in val_indices]
    normalizers = fit_normalizers(
        caches, train_files, max_clips=config.input.normalization_clips, seed=config.train.seed,
        clip_norm=config.input.clip_norm,
    )
    plan = PatchPlan(config.input.patch_width, config.input.patch_shift, tuple(config.input.patch_size))
    targets = table.targets
    clip_norm = config.input.clip_norm
    train_set = PatchDataset(caches, train_files, [targets[i] for i in train_indices], normalizers, plan, clip_norm)
    val_set = PatchDataset(caches, val_files, [targets[i] for i in val_indices], normalizers, plan, clip_norm)

    module = SceneClassifier.create(config, list(table.classes), n_val_clips=len(val_files))
    module.normalizers = [n.to_dict() for n in normalizers]
    module.val_targets = torch.as_tensor(val_set.targets)
    checkpoints = ModelCheckpoint(
        dirpath=folder / "checkpoints", filename="best", monitor="val_acc", mode="max", save_top_k=1,
        enable_version_counter=False,
    )
    # Lightning's save_last only writes when the best one changed; --resume needs every epoch
    latest = ModelCheckpoint(
        dirpath=folder / "checkpoints", filename="last", save_top_k=1, every_n_epochs=1, enable_version_counter=False,
    )
    stopper = EarlyStopping(monitor="val_acc", mode="max", patience=config.train.patience)
    trainer = L.Trainer(
        **_trainer_options(config),
        callbacks=[checkpoints, latest, stopper],
        logger=[CSVLogger(folder, name="logs", version=""), TensorBoardLogger(folder, name="tensorboard", version="")],
        enable_progress_bar=progress,
        enable_model_summary=False,
        log_every_n_steps=max(1, min(50, len(train_set) // config.train.batch_size)),
        num_sanity_val_steps=0,
    )
    last = folder / "checkpoints" / "last.ckpt"
    with warnings.catch_warnings():
        # small CPU runs trip Lightning's "few workers" hint; the worker count is the user's setting
        warnings.filterwarnings("ignore", ".*does not have many workers.*")
        trainer.fit(
            module, _loader(train_set, config, train=True), _loader(val_set, config, train=False),
            ckpt_path=str(last) if resume and last.is_file() else None,
        )
        best = checkpoints.best_model_path or str(last)
        trainer.validate(module, _loader(val_set, config, train=False), ckpt_path=best, verbose=False)
    epochs = int(trainer.current_epoch)
    best_acc = float(checkpoints.best_model_score) if checkpoints.best_model_score is not None else float("nan")
    if not trainer.is_global_zero:
        return SplitResult(split, folder, best_acc, epochs, folder / "predictions.csv")
    probs = module.last_val_clip_probs
    if probs is None:
        raise RuntimeError(f"split {split}: validation produced no predictions")
    folds = np.full(len(val_files), -1) if fold_ids is None else np.asarray(fold_ids)[val_indices]
    predictions = Predictions(
        filenames=val_files,
        labels=[table.labels[i] for i in val_indices],
        folds=folds.astype(np.int64),
        classes=tuple(table.classes),
        probabilities=probs.double().numpy(),
    )
    write_predictions(folder / "predictions.csv", predictions)
    result = SplitResult(split, folder, best_acc, epochs, folder / "predictions.csv")
    tmp = done.with_name(".result.json.tmp")
    tmp.write_text(json.dumps(result.to_dict(), indent=2))
    os.replace(tmp, done)
    return result


def is_main_process() -> bool:
    """False in the extra processes a multi-device run starts: they train, but write no reports."""
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def write_run_config(config: ExperimentConfig, run: Path) -> None:
    """Write ``RUN/config.yaml``; refuse a run folder that was started with another configuration."""
    run.mkdir(parents=True, exist_ok=True)
    path = run / "config.yaml"
    if path.is_file():
        # name and description are labels: a renamed preset with the same settings is the same run
        previous, current = (
            {k: v for k, v in to_dict(c).items() if k not in ("name", "description")}
            for c in (load_experiment(path), config)
        )
        if previous != current:
            changed = sorted(_differences(previous, current))
            raise ConfigError(
                f"{run} was started with another configuration (differs in {', '.join(changed)}); "
                "resume with the same preset and --set values, or use a new --out"
            )
        return
    save_experiment(config, path)


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = set(old) | set(new)
        return [d for k in keys for d in _differences(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [prefix.rstrip(".")]
