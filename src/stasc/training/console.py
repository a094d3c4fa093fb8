"""What a run prints: one live bar per split in a terminal, one line per epoch in a log, and none of
the library's own banners, tips and deprecation notices.

Lightning's progress bar redraws every step (~470 KB of bars in a log of the demo); this callback
shows epochs: a tqdm bar with the latest metrics when stderr is a terminal, else a plain line per
epoch, so a log file holds what a person reads.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback
from tqdm import tqdm

log = logging.getLogger("stasc.training")

SHOWN = (("train_loss", "loss"), ("val_acc", "val acc"), ("val_loss", "val loss"))


class EpochProgress(Callback):
    """A bar over the epochs of one split (a terminal), or one log line per epoch (no terminal)."""

    def __init__(self, split: str, *, enabled: bool = True) -> None:
        self.split = split
        self.enabled = enabled
        self.bar: tqdm[Any] | None = None
        self._started = 0.0

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled or not trainer.is_global_zero:
            return
        if sys.stderr.isatty():
            self.bar = tqdm(total=trainer.max_epochs, initial=trainer.current_epoch, desc=self.split, unit="epoch",
                            dynamic_ncols=True, leave=True)

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled or not trainer.is_global_zero:
            return
        metrics = {label: float(trainer.callback_metrics[key]) for key, label in SHOWN
                   if key in trainer.callback_metrics}
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items()}, refresh=False)
            self.bar.update(1)
        else:
            shown = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
            print(f"{self.split} epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: {shown} "
                  f"({time.perf_counter() - self._started:.0f} s)", file=sys.stderr, flush=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextmanager
def quiet_lightning() -> Iterator[None]:
    """Within the block, Lightning's banners ("GPU available", tips) and the deprecation notices its
    own code triggers stay out of the output; warnings about the user's setup still show."""
    loggers = [logging.getLogger(name) for name in ("lightning.pytorch", "lightning.fabric", "lightning")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"lightning\..*")
        warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
        # a resumed split writes into its own folders again
        warnings.filterwarnings("ignore",
                                message=r".*(Experiment logs|Checkpoint) directory .* exists and is not empty.*")
        # selection "last" trains without a validation loader on purpose
        warnings.filterwarnings("ignore", message=r"(?i).*defined a `validation_step` but have no `val_dataloader`.*")
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)
