"""The Lightning module: the paper's loss, optimiser, mixup and clip-level validation accuracy.

The network itself (``stasc.models``) knows nothing of training; this module adds Adam with L2
weight decay, soft-target cross-entropy (so mixed targets work), mixup during training only, and
validation accuracy per clip = argmax of the mean patch probability over all patches and views.
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.trainer.states import TrainerFn
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from stasc.config import ExperimentConfig, experiment_from_dict, to_dict
from stasc.versions import versions
from stasc.models import build_model
from stasc.training.data import clip_probabilities
from stasc.training.masking import mask_patches
from stasc.training.mixup import mixup


class SceneClassifier(L.LightningModule):
    """Wraps the DCNN of ``config.model`` for training on patches of ``n_val_clips`` validation clips."""

    def __init__(self, config: dict[str, Any], classes: list[str], n_val_clips: int = 0) -> None:
        super().__init__()
        # plain data in hparams, so a checkpoint restores the module with nothing else at hand
        self.save_hyperparameters({"config": config, "classes": list(classes), "n_val_clips": n_val_clips})
        self.config: ExperimentConfig = experiment_from_dict(config)
        self.classes = list(classes)
        self.n_val_clips = n_val_clips
        self.model = build_model(self.config.model)
        self._rng = np.random.default_rng(self.config.train.seed)
        self._val_probs: list[Tensor] = []
        self._val_clips: list[Tensor] = []
        self.val_targets: Tensor | None = None  # clip labels of the validation split, set by fit
        self.normalizers: list[dict[str, Any]] = []  # saved into every checkpoint
        self.last_val_clip_probs: Tensor | None = None

    @classmethod
    def create(cls, config: ExperimentConfig, classes: list[str], n_val_clips: int = 0) -> SceneClassifier:
        return cls(to_dict(config), classes, n_val_clips)

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor (B, C, H, W)`` → logits ``(B, K)``."""
        if self.config.train.channels_last and x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.model(x)

    def on_fit_start(self) -> None:
        if self.config.train.channels_last and self.device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        # a different mixup stream on every DDP rank, reproducible from the seed
        self._rng = np.random.default_rng([self.config.train.seed, self.global_rank])

    def training_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y, _ = batch
        targets = F.one_hot(y, num_classes=len(self.classes)).to(x.dtype)
        masking = self.config.masking
        if masking.enabled and self.training:
            x = mask_patches(x, freq_masks=masking.freq_masks, freq_max_width=masking.freq_max_width,
                             time_masks=masking.time_masks, time_max_width=masking.time_max_width, rng=self._rng)
        if self.config.mixup.enabled and self.training:
            x, targets, _ = mixup(x, targets, alpha=self.config.mixup.alpha, rng=self._rng)
        logits = self(x)
        loss = F.cross_entropy(logits, targets)
        accuracy = (logits.argmax(1) == y).float().mean()
        self.log("train_loss", loss, on_step=False, on_epoch=True, prog_bar=True, sync_dist=True)
        self.log("train_patch_acc", accuracy, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def validation_step(self, batch: tuple[Tensor, Tensor, Tensor], batch_idx: int) -> None:
        x, y, clips = batch
        logits = self(x)
        if self._fitting:
            self.log("val_patch_loss", F.cross_entropy(logits, y), on_epoch=True, sync_dist=True)
        self._val_probs.append(logits.float().softmax(1))
        self._val_clips.append(clips)

    def on_validation_epoch_end(self) -> None:
        if not self._val_probs:
            return
        probs = torch.cat(self._val_probs)
        clips = torch.cat(self._val_clips)
        self._val_probs, self._val_clips = [], []
        if self.trainer.world_size > 1:
            # every rank sees part of the patches (DistributedSampler may repeat a few to even out the
            # ranks, which shifts a clip mean negligibly); gather all before averaging per clip
            probs = self.all_gather(probs).reshape(-1, probs.shape[-1])
            clips = self.all_gather(clips).reshape(-1)
        clip_probs = clip_probabilities(probs, clips.long(), self.n_val_clips)
        if self.val_targets is None:
            raise RuntimeError("validation targets were not set on the module (see stasc.training.fit)")
        targets = self.val_targets.to(clip_probs.device)
        accuracy = (clip_probs.argmax(1) == targets).float().mean()
        loss = F.nll_loss(clip_probs.clamp_min(1e-15).log(), targets)
        if self._fitting:
            self.log("val_acc", accuracy, prog_bar=True, sync_dist=False, rank_zero_only=False)
            self.log("val_loss", loss, prog_bar=True, sync_dist=False, rank_zero_only=False)
        self.last_val_clip_probs = clip_probs.detach().cpu()

    @property
    def _fitting(self) -> bool:
        # the final pass over the best checkpoint only collects predictions; logging it would add a
        # phantom epoch to the learning curves
        return self.trainer.state.fn == TrainerFn.FITTING

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["stasc"] = {
            "normalizers": self.normalizers,
            "classes": self.classes,
            "config": to_dict(self.config),
            "versions": versions(),
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.normalizers = checkpoint.get("stasc", {}).get("normalizers", [])

    def configure_optimizers(self) -> Any:
        # the paper's "L2 regularisation with weight decay 5e-4": Adam's coupled L2 penalty
        train = self.config.train
        optimizer = torch.optim.Adam(self.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        if train.lr_schedule == "constant":
            return optimizer
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=train.max_epochs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}
