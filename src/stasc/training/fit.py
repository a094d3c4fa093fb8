"""``fit``: train one split of an experiment, select its model without the test clips, score them once.

A split (``RUN/<split>/``, laid out by :class:`stasc.runs.SplitDir`) has a training side and,
except for the final model, test clips. Selection (``train.selection``, SPEC §4):

- ``validation`` (default): a grouped, stratified part of the training side
  (``train.validation_fraction`` of its groups) drives early stopping and the best checkpoint;
  the test clips are scored once, by the selected model, and are never seen in training.
- ``test-fold``: the paper's protocol: the test clips themselves choose the epoch (optimistic).
- ``last``: no selection; the model after ``max_epochs`` is scored.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import TensorBoardLogger
from torch.utils.data import DataLoader

from stasc.atomic import write_text
from stasc.checkpoint import load_data
from stasc.config import ExperimentConfig
from stasc.data import ClipTable, DatasetError, require_readable, validation_fold, validation_split
from stasc.evaluation.predictions import Predictions, write_predictions
from stasc.evaluation.protocol import FoldSource, protocol
from stasc.extraction import extract_missing, feature_caches
from stasc.features.frontend import FrontEnd
from stasc.runs import SplitDir
from stasc.training import distributed
from stasc.training.averaging import MovingAverage
from stasc.training.console import EpochProgress, quiet_lightning
from stasc.training.data import PatchDataset, fit_normalizers
from stasc.training.history import HistoryCSVLogger, drop_epochs_from
from stasc.training.module import SELECTION_SCORE, SceneClassifier
from stasc.training.precision import training_precision

log = logging.getLogger(__name__)



@dataclass
class SplitResult:
    """The outcome of one trained split (``result.json``)."""

    split: str
    epochs: int  # epochs trained
    selected_epoch: int  # the epoch of the model kept (0-based)
    selection_score: float | None  # the monitored value (mean over the selection window) of the kept model
    test_accuracy: float | None  # on the test clips (None for the final model)
    clips: dict[str, int] = field(default_factory=dict)  # fit / selection / test
    protocol: dict[str, Any] = field(default_factory=dict)
    precision: str = ""  # the trainer's, auto resolved (bf16-mixed, 32-true); empty in older results
    # where the metadata tells them: each test clip's device and city, and the devices trained on
    attributes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitResult:
        return cls(**data)


@dataclass(frozen=True)
class SplitPlan:
    """Which clips (indices into the table) train, select and test one split."""

    name: str
    fit: np.ndarray
    selection: np.ndarray
    test: np.ndarray
    folds: FoldSource


def plan_split(config: ExperimentConfig, table: ClipTable, train: np.ndarray, test: np.ndarray, *, name: str,
               folds: FoldSource, fold_of_clip: np.ndarray | None = None) -> SplitPlan:
    """Carve the selection clips out of ``train`` (or take ``test`` itself under ``test-fold``); under
    ``train.validation_part: fold`` they are one whole fold of ``train`` by ``fold_of_clip`` (every clip's fold)."""
    selection = config.train.selection
    if selection == "test-fold":
        if len(test) == 0:
            raise DatasetError(f"split {name}: train.selection=test-fold needs test clips to select on; "
                               "the final model has none (use validation or last)")
        return SplitPlan(name, np.asarray(train), np.asarray(test), np.asarray(test), folds)
    if selection == "last":
        return SplitPlan(name, np.asarray(train), np.zeros(0, dtype=np.int64), np.asarray(test), folds)
    if config.train.validation_part == "fold":
        if fold_of_clip is None:
            why = "the data has no fold column" if folds == "none" else f"a {folds} split has no folds"
            raise DatasetError(f"split {name}: train.validation_part=fold holds out one of the training side's folds, "
                               f"but {why}; use train.validation_part=groups")
        test_folds = np.asarray(fold_of_clip)[np.asarray(test)]
        fit_part, held = validation_fold(fold_of_clip, np.asarray(train), seed=config.train.seed,
                                         test_fold=int(test_folds.min()) if len(test_folds) else None)
    else:
        fit_part, held = validation_split(table, np.asarray(train), fraction=config.train.validation_fraction,
                                          seed=config.train.seed)
    return SplitPlan(name, fit_part, held, np.asarray(test), folds)


def _trainer_options(config: ExperimentConfig) -> dict[str, Any]:
    train = config.train
    options: dict[str, Any] = {
        "accelerator": train.accelerator, "devices": train.devices, "num_nodes": train.num_nodes,
        "strategy": train.strategy, "precision": training_precision(train), "max_epochs": train.max_epochs,
    }
    if train.limit_train_batches < 1:
        options["limit_train_batches"] = train.limit_train_batches
    return options


def _loader(dataset: PatchDataset, config: ExperimentConfig, *, train: bool) -> DataLoader[Any]:
    world = distributed.world_size(config)
    batch = config.train.batch_size if train else config.train.eval_batch_size
    if batch % world:
        raise ValueError(f"train.{'batch_size' if train else 'eval_batch_size'} {batch} is the global batch and must "
                         f"divide among {world} processes (devices × nodes); use a multiple of {world}")
    workers = distributed.loader_workers(config)
    return DataLoader(
        dataset, batch_size=batch // world, shuffle=train, drop_last=False, num_workers=workers,
        persistent_workers=workers > 0, generator=torch.Generator().manual_seed(config.train.seed) if train else None,
        pin_memory=torch.cuda.is_available(),
    )


def fit(
    config: ExperimentConfig,
    table: ClipTable,
    plan: SplitPlan,
    split_dir: SplitDir,
    *,
    cache_root: str | Path,
    fold_ids: np.ndarray | None = None,
    resume: bool = False,
    progress: bool = True,
    extract_workers: int | None = None,
) -> SplitResult:
    """Train ``plan.fit``, select on ``plan.selection``, score ``plan.test`` once; write ``split_dir``."""
    if split_dir.finished and resume:
        log.info("%s is complete; not training it again", split_dir.path)
        return SplitResult.from_dict(split_dir.read_result())
    if len(plan.fit) == 0:
        raise DatasetError(f"split {plan.name}: no training clips")
    split_dir.path.mkdir(parents=True, exist_ok=True)
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True  # every batch has the same patch shape: tune the convolutions once

    # unique: under test-fold selection the selection clips are the test clips
    used = table.subset(np.unique(np.concatenate([plan.fit, plan.selection, plan.test])).tolist())
    caches = distributed.once(lambda: _prepare_features(config, used, Path(cache_root), extract_workers, progress),
                              then=lambda: feature_caches(config, Path(cache_root), used))
    files = {part: [table.files[i] for i in getattr(plan, part)] for part in ("fit", "selection", "test")}
    targets = table.targets
    normalizers = fit_normalizers(caches, files["fit"], max_clips=config.input.normalization_clips,
                                  seed=config.train.seed, clip_norm=config.input.clip_norm)
    front_end = FrontEnd(config.input, normalizers)
    # the patch weights of the clips scored; the training patches' weights weigh their loss (train.silent_patches)
    silence = config.train.silent_patches
    fit_weights = "sound" if silence == "weight" else "equal"
    sets = {part: PatchDataset(caches, files[part], [targets[i] for i in getattr(plan, part)], front_end,
                               patch_weights=fit_weights if part == "fit" else config.model.patch_weights,
                               drop_silent=part == "fit" and silence != "keep")
            for part in files if files[part]}
    if silence != "keep":
        fitted = sets["fit"]
        log.info("train.silent_patches '%s': %d of %d training patches are digital silence and are not trained on%s",
                 silence, fitted.silent_dropped, fitted.silent_dropped + len(fitted),
                 "; the others' losses are weighted by their share of sounding frames" if silence == "weight" else "")
    if (offsets := config.offsets_only()) is not None:
        log.info("%s", offsets)
    short = sum(s.short_clips for s in sets.values())
    if short:
        how = "repeated" if config.input.short_clip_pad == "repeat" else "zero-padded"
        log.warning("%d of %d clips are shorter than one patch (%d frames): %s to fill it", short,
                    sum(s.n_clips for s in sets.values()), config.input.patch_width, how)

    # seeded here, after extraction (whose DataLoader draws from the global generator): the same seed gives
    # the same weights whether the features were extracted by this run or found in the cache
    L.seed_everything(config.train.seed, workers=True, verbose=False)
    module = SceneClassifier.create(config, list(table.classes), normalizers)
    selecting = "selection" in sets
    monitor = SELECTION_SCORE
    mode = "max" if config.train.monitor == "val_acc" else "min"
    callbacks: list[Callback] = [
        # the selected model; with nothing to select on, every epoch replaces it (the last is kept)
        ModelCheckpoint(dirpath=split_dir.checkpoints, filename="best", monitor=monitor if selecting else None,
                        mode=mode, save_top_k=1, enable_version_counter=False),
        # Lightning's save_last only writes when the best one changed; --resume needs every epoch
        ModelCheckpoint(dirpath=split_dir.checkpoints, filename="last", save_top_k=1, every_n_epochs=1,
                        enable_version_counter=False),
        EpochProgress(plan.name, enabled=progress),
    ]
    if selecting:
        callbacks.append(EarlyStopping(monitor=monitor, mode=mode, patience=config.train.patience))
    if config.train.ema_epochs is not None:
        callbacks.append(MovingAverage(config.train.ema_epochs))
    resume_from = split_dir.last if resume and split_dir.last.is_file() else None
    if resume_from is not None:
        drop_epochs_from(split_dir.metrics, int(load_data(resume_from).get("epoch", 0)) + 1)
    with quiet_lightning():
        trainer = L.Trainer(
            **_trainer_options(config), callbacks=callbacks,
            logger=[HistoryCSVLogger(split_dir.path, name="logs", version=""),
                    TensorBoardLogger(split_dir.path, name="tensorboard", version="")],
            enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
            log_every_n_steps=max(1, min(50, len(sets["fit"]) // config.train.batch_size)),
        )
        trainer.fit(module, _loader(sets["fit"], config, train=True),
                    _loader(sets["selection"], config, train=False) if selecting else None,
                    ckpt_path=resume_from, weights_only=True)
        selected = split_dir.best if split_dir.best.is_file() else split_dir.last
        test_accuracy = None
        if "test" in sets:
            trainer.validate(module, _loader(sets["test"], config, train=False), ckpt_path=str(selected),
                             verbose=False, weights_only=True)
    best_score = callbacks[0].best_model_score if selecting else None  # type: ignore[attr-defined]
    saved = load_data(selected)
    result = SplitResult(
        split=plan.name, epochs=int(trainer.current_epoch), selected_epoch=int(saved.get("epoch", 0)),
        selection_score=None if best_score is None else float(best_score), test_accuracy=None,
        clips={part: len(names) for part, names in files.items()},
        protocol=protocol(config, plan.folds).to_dict(), precision=training_precision(config.train),
        attributes=_attributes(table, plan),
    )
    if not trainer.is_global_zero:
        return result
    if "test" in sets:
        probs = module.last_clip_probs
        if probs is None:
            raise RuntimeError(f"split {plan.name}: scoring the test clips produced no predictions")
        folds = np.full(len(plan.test), -1) if fold_ids is None else np.asarray(fold_ids)[plan.test]
        predictions = Predictions(filenames=files["test"], labels=[table.labels[i] for i in plan.test],
                                  folds=folds.astype(np.int64), classes=tuple(table.classes),
                                  probabilities=probs.double().numpy())
        write_predictions(split_dir.predictions, predictions)
        test_accuracy = float(np.mean(np.array(predictions.predicted) == np.array(predictions.labels)))
        result.test_accuracy = test_accuracy
    write_text(split_dir.result, json.dumps(result.to_dict(), indent=2))
    return result


def _attributes(table: ClipTable, plan: SplitPlan) -> dict[str, Any]:
    """Devices and cities of the test clips (and the devices trained on) when the table has several."""
    out: dict[str, Any] = {}
    for name, values in (("device", table.devices), ("city", table.cities)):
        if values is not None and len(set(values)) > 1:
            out[name] = {table.files[i]: values[i] for i in plan.test}
    if "device" in out and table.devices is not None:
        out["training_devices"] = sorted({table.devices[i] for i in np.concatenate([plan.fit, plan.selection])})
    return out


def _prepare_features(
    config: ExperimentConfig, table: ClipTable, cache_root: Path, workers: int | None, progress: bool
) -> None:
    require_readable(table)
    extract_missing(config, table, cache_root, workers=workers, progress=progress)  # pinned once, after
