"""Weight averaging (``train.ema_epochs``): the model a run keeps is an exponential moving average (EMA) of its
weights as trained, not the weights of its last step.

Lightning's :class:`~lightning.pytorch.callbacks.WeightAveraging` keeps the average beside the network, updates it
after every optimiser step, swaps it in for every validation pass (so selection and early stopping judge the
averaged model), writes it as each checkpoint's ``state_dict`` (so every reader, from ``stasc predict`` to the
export, loads it) and restores both the average and the trained weights on ``--resume``. BatchNorm's running
statistics are averaged with the weights.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import WeightAveraging
from torch.optim.swa_utils import get_ema_multi_avg_fn


class MovingAverage(WeightAveraging):
    """An exponential moving average of the weights with a time constant of ``epochs`` epochs, kept on the network's
    device."""

    def __init__(self, epochs: float) -> None:
        super().__init__()
        self.epochs = epochs
        self.decay: float | None = None  # per step; known once the trainer has counted an epoch's steps

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning builds the average in setup(), before the strategy moves the network to its device: move it
        # along, or a GPU run would copy every weight to the CPU after each step
        if self._average_model is not None:
            self._average_model.to(pl_module.device)

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # an epoch's steps as the trainer counts them: after its distributed sampler (one rank's share of the
        # batches) and train.limit_train_batches
        self.decay = ema_decay(self.epochs, int(trainer.num_training_batches))
        if self._average_model is not None:
            # one fused lerp per dtype on every step (torch's EMA), before the first update
            self._average_model.multi_avg_fn = get_ema_multi_avg_fn(self.decay)


def ema_decay(epochs: float, steps_per_epoch: int) -> float:
    """The per-step decay of a moving average whose time constant, ``1 / (1 - decay)`` steps, is ``epochs`` epochs:
    the average then holds the last ``epochs`` epochs with 63 % of its weight. Sized in epochs, not steps, so one
    setting means the same on a set of 300 clips and on one of 14,000."""
    if epochs <= 0 or steps_per_epoch <= 0:
        raise ValueError(f"a moving average needs epochs > 0 and steps_per_epoch > 0, got {epochs} and "
                         f"{steps_per_epoch}")
    return 1.0 - 1.0 / max(1.0, epochs * steps_per_epoch)
