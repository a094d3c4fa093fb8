"""``meanmax``: the temporal mean plus the temporal maximum (not in the paper; PANNs' CNN14 head).

The mean alone dilutes a short event (a dog's bark in five seconds of street) with the frames around
it; the maximum keeps it, the mean keeps the texture of a continuous sound (rain, an engine).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from torch import Tensor

from stasc.models.pooling.registry import Pooled, PoolingHead, PoolingSettings, register_pooling


class MeanMaxPoolingSettings(PoolingSettings):
    kind: Literal["meanmax"] = "meanmax"


class TemporalMeanMaxPooling(PoolingHead):
    """``x_s = mean_t O_st + max_t O_st``."""

    settings_class: ClassVar[type[PoolingSettings]] = MeanMaxPoolingSettings

    def forward(self, o: Tensor) -> Pooled:
        """``o (B, S, T)`` → ``x (B, S)``; B batch, S spatial rows, T time steps."""
        return Pooled(o.mean(-1) + o.amax(-1), None, None)


register_pooling(TemporalMeanMaxPooling)
