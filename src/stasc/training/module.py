"""The Lightning module: the paper's loss, optimiser, augmentation and mixup, and clip-level evaluation.

The network itself (``stasc.models``) knows nothing of training; this module adds Adam with L2
weight decay, soft-target cross-entropy (so mixed targets work), augmentation and mixup during
training steps only (one draw per member of a ``model.members`` average), and evaluation per clip: a
clip's probabilities are the mean of its patches' over all patches and views, its prediction their argmax.
"""

from __future__ import annotations

from typing import Any, cast

import lightning as L
import numpy as np
import torch
import torch.nn.functional as F
from lightning.pytorch.trainer.states import TrainerFn
from torch import Tensor

from stasc.checkpoint import stasc_section
from stasc.config import ExperimentConfig
from stasc.features.frontend import FrontEnd
from stasc.features.patches import Normalizer
from stasc.models import build_model
from stasc.models.probabilities import class_probabilities
from stasc.training.augment import augment
from stasc.training.data import clip_probabilities
from stasc.training.mixup import mixup

# what selection and early stopping watch: the monitored value (val_acc or val_loss), averaged over the
# last train.selection_window epochs
SELECTION_SCORE = "selection_score"


class SceneClassifier(L.LightningModule):
    """Wraps the DCNN of ``config.model`` for training on patches; ``normalizers`` go into every checkpoint."""

    def __init__(self, config: dict[str, Any], classes: list[str], normalizers: list[dict[str, Any]]) -> None:
        super().__init__()
        # plain data in hparams, so a checkpoint restores the module with nothing else at hand
        self.save_hyperparameters({"config": config, "classes": list(classes), "normalizers": normalizers})
        self.config = ExperimentConfig.parse(config)
        self.classes = list(classes)
        self.normalizers = [Normalizer.from_dict(n) for n in normalizers]
        self.model = build_model(self.config.model)
        # how a patch moves per dB of gain, and per dB of each band: constants of the normalisers, computed once
        front_end = FrontEnd(self.config.input, self.normalizers)
        augment_config = self.config.augment
        self.gain_directions: Tensor | None
        self.band_directions: Tensor | None
        self.register_buffer("gain_directions", front_end.gain_directions() if augment_config.gain_db else None,
                             persistent=False)
        banded = augment_config.filter_db > 0 or augment_config.noise_snr_db is not None
        self.register_buffer("band_directions", front_end.band_directions() if banded else None, persistent=False)
        self._rng = np.random.default_rng(self.config.train.seed)
        self._probs: list[Tensor] = []
        self._clips: list[Tensor] = []
        self._targets: list[Tensor] = []
        self._weights: list[Tensor] = []
        self.last_clip_probs: Tensor | None = None  # (clips, K) of the last evaluation pass
        self.last_clip_targets: Tensor | None = None
        self.monitored: list[float] = []  # the monitored value of every epoch so far (for the selection window)

    @classmethod
    def create(cls, config: ExperimentConfig, classes: list[str], normalizers: list[Normalizer]) -> SceneClassifier:
        return cls(config.to_dict(), classes, [n.to_dict() for n in normalizers])

    def forward(self, x: Tensor, member: int | None = None) -> Tensor:
        """``Tensor (B, C, H, W)`` → logits ``(B, K)`` (of one ``member`` of a ``model.members`` average when given)."""
        if self.config.train.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return self._network(x, member=member)

    def setup(self, stage: str) -> None:
        # before the strategy moves and wraps the model (DDP): channels-last weights, so the gradients DDP
        # buckets have the layout of the weights; cuDNN and oneDNN (CPU) both run convolutions faster in it
        if self.config.train.channels_last:
            self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        if self.config.train.compile:
            # kept off the module's attributes, so the checkpoint's weights keep their names (model.*)
            object.__setattr__(self, "_compiled", torch.compile(self.model))

    @property
    def _network(self) -> Any:
        return self.__dict__.get("_compiled") or self.model

    def on_fit_start(self) -> None:
        # a different augmentation stream on every DDP rank, reproducible from the seed
        self._rng = np.random.default_rng([self.config.train.seed, self.global_rank])

    def training_step(self, batch: tuple[Tensor, Tensor, Tensor, Tensor], batch_idx: int) -> Tensor:
        x, y, _, weights = batch
        members = self.config.model.members
        # each member of an average gets its own augmentation and mixup draw and its own loss: trained as if apart
        hard = F.one_hot(y, num_classes=len(self.classes)).to(x.dtype)
        weighed = weights.float() if self.config.train.silent_patches == "weight" else None
        losses, accuracies = [], []
        for member in range(members):
            inputs, targets, patch_weights = self._augmented(x, hard, weighed)
            logits = self(inputs, member=member)
            losses.append(patch_loss(logits.float(), targets, patch_weights))  # float32 loss under bf16 autocast
            accuracies.append((logits.argmax(1) == y).float().mean())
        # summed, so that each member's gradient (and Adam's coupled L2 on it) is what it would be alone
        loss = torch.stack(losses).sum()
        self.log("train_loss", loss / members, on_step=False, on_epoch=True, sync_dist=True)
        self.log("train_patch_acc", torch.stack(accuracies).mean(), on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def _augmented(self, x: Tensor, targets: Tensor,
                   weights: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor | None]:
        """One draw of the training-only augmentation, then mixup (each as configured); patch loss ``weights`` (B,)
        are mixed as the targets are."""
        if self.config.augment.enabled:
            directions = self.gain_directions if self.gain_directions is not None else torch.zeros(0)
            x = augment(x, self.config.augment, gain_directions=directions, rng=self._rng,
                        band_directions=self.band_directions)
        if self.config.mixup.enabled:
            if weights is None:
                x, targets, _ = mixup(x, targets, alpha=self.config.mixup.alpha, rng=self._rng)
            else:
                # the weights ride along as one more target column: a mixed patch weighs λ·wᵢ + (1−λ)·wⱼ
                x, both, _ = mixup(x, torch.cat([targets, weights[:, None].to(targets.dtype)], 1),
                                   alpha=self.config.mixup.alpha, rng=self._rng)
                targets, weights = both[:, :-1], both[:, -1].float()
        return x, targets, weights

    def validation_step(self, batch: tuple[Tensor, Tensor, Tensor, Tensor], batch_idx: int) -> None:
        x, y, clips, weights = batch
        self._probs.append(class_probabilities(self, x, self.config.model.test_time_warps))
        self._clips.append(clips)
        self._targets.append(y)
        self._weights.append(weights)

    def on_validation_epoch_end(self) -> None:
        if not self._probs:
            return
        probs, clips, targets = torch.cat(self._probs), torch.cat(self._clips), torch.cat(self._targets)
        weights = torch.cat(self._weights)
        self._probs, self._clips, self._targets, self._weights = [], [], [], []
        if self.trainer.world_size > 1:
            # every rank sees part of the patches (DistributedSampler may repeat a few to even out the
            # ranks, which shifts a clip mean negligibly); gather all before averaging per clip
            probs = cast(Tensor, self.all_gather(probs)).reshape(-1, probs.shape[-1])
            clips = cast(Tensor, self.all_gather(clips)).reshape(-1)
            targets = cast(Tensor, self.all_gather(targets)).reshape(-1)
            weights = cast(Tensor, self.all_gather(weights)).reshape(-1)
        clips = clips.long()
        n_clips = int(clips.max()) + 1
        equal = self.config.model.patch_weights == "equal"
        clip_probs = clip_probabilities(probs, clips, n_clips, None if equal else weights)
        clip_targets = torch.zeros(n_clips, dtype=torch.long, device=targets.device)
        clip_targets.index_copy_(0, clips, targets.long())
        if self._fitting:
            accuracy = (clip_probs.argmax(1) == clip_targets).float().mean()
            loss = F.nll_loss(clip_probs.clamp_min(1e-15).log(), clip_targets)
            self.log("val_acc", accuracy, sync_dist=False, rank_zero_only=False)
            self.log("val_loss", loss, sync_dist=False, rank_zero_only=False)
            train = self.config.train
            self.monitored.append(float(accuracy if train.monitor == "val_acc" else loss))
            window = self.monitored[-train.selection_window:]
            self.log(SELECTION_SCORE, sum(window) / len(window), sync_dist=False, rank_zero_only=False)
        self.last_clip_probs, self.last_clip_targets = clip_probs.detach().cpu(), clip_targets.cpu()

    @property
    def _fitting(self) -> bool:
        # the final pass over the selected checkpoint only collects predictions; logging it would
        # add a phantom epoch to the learning curves
        return self.trainer.state.fn == TrainerFn.FITTING

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["stasc"] = stasc_section(self.config, self.classes, self.normalizers)
        checkpoint["stasc_monitored"] = list(self.monitored)  # a resumed run's selection window goes on

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.monitored = [float(v) for v in checkpoint.get("stasc_monitored", [])]

    def configure_optimizers(self) -> Any:
        # the paper's "L2 regularisation with weight decay 5e-4": Adam's coupled L2 penalty (train.optimizer adam)
        train = self.config.train
        kind = torch.optim.AdamW if train.optimizer == "adamw" else torch.optim.Adam
        optimizer = kind(self.parameters(), lr=train.lr, weight_decay=train.weight_decay)
        if train.lr_schedule == "constant":
            return optimizer
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=train.max_epochs)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "epoch"}}


def patch_loss(logits: Tensor, targets: Tensor, weights: Tensor | None = None) -> Tensor:
    """Soft-target cross-entropy of ``logits (B, K)`` against ``targets (B, K)``: the batch mean, or with ``weights
    (B,)`` (``train.silent_patches: weight``) the weighted mean, so a batch's loss keeps its scale whatever its
    patches weigh."""
    if weights is None:
        return F.cross_entropy(logits, targets)
    losses = F.cross_entropy(logits, targets, reduction="none")
    return (weights * losses).sum() / weights.sum().clamp_min(1e-12)
