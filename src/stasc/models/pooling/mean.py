"""``mean``: temporal mean pooling, the paper's DCNN^nonsp (``x_s = mean_t O_st``)."""

from __future__ import annotations

from typing import ClassVar, Literal

from torch import Tensor

from stasc.models.pooling.registry import Pooled, PoolingHead, PoolingSettings, register_pooling


class MeanPoolingSettings(PoolingSettings):
    kind: Literal["mean"] = "mean"


class TemporalMeanPooling(PoolingHead):
    """DCNN^nonsp: ``x_s = mean_t O_st``."""

    settings_class: ClassVar[type[PoolingSettings]] = MeanPoolingSettings

    def forward(self, o: Tensor) -> Pooled:
        """``o (B, S, T)`` → ``x (B, S)``; B batch, S spatial rows, T time steps."""
        return Pooled(o.mean(-1), None, None)


register_pooling(TemporalMeanPooling)
