"""Weight averaging (``train.ema_epochs``): the model a run keeps is an exponential moving average (EMA) of its
weights as trained, not the weights of its last step.

Lightning's :class:`~lightning.pytorch.callbacks.EMAWeightAveraging` keeps the average beside the network, updates
it after every optimiser step, swaps it in for every validation pass (so selection and early stopping judge the
averaged model), writes it as each checkpoint's ``state_dict`` (so every reader, from ``stasc predict`` to the
export, loads it) and restores both the average and the trained weights on ``--resume``. BatchNorm's running
statistics are averaged with the weights.
"""

from __future__ import annotations

import lightning as L
from lightning.pytorch.callbacks import EMAWeightAveraging


class MovingAverage(EMAWeightAveraging):
    """Lightning's EMA callback, its average kept on the network's device."""

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Lightning builds the average in setup(), before the strategy moves the network to its device: move it
        # along, or a GPU run would copy every weight to the CPU after each step
        if self._average_model is not None:
            self._average_model.to(pl_module.device)


def ema_decay(epochs: float, steps_per_epoch: int) -> float:
    """The per-step decay of a moving average whose time constant, ``1 / (1 - decay)`` steps, is ``epochs`` epochs:
    the average then holds the last ``epochs`` epochs with 63 % of its weight. Sized in epochs, not steps, so one
    setting means the same on a set of 300 clips and on one of 14,000."""
    if epochs <= 0 or steps_per_epoch <= 0:
        raise ValueError(f"a moving average needs epochs > 0 and steps_per_epoch > 0, got {epochs} and "
                         f"{steps_per_epoch}")
    return 1.0 - 1.0 / max(1.0, epochs * steps_per_epoch)


def weight_averaging(ema_epochs: float | None, steps_per_epoch: int) -> MovingAverage | None:
    """The callback that averages the weights over about ``ema_epochs`` epochs, or None (``train.ema_epochs``
    null: the weights as trained)."""
    if ema_epochs is None:
        return None
    return MovingAverage(decay=ema_decay(ema_epochs, steps_per_epoch))
