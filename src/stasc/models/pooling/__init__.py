"""Pooling heads and their registry; importing this package registers the built-in ones."""

from stasc.models.pooling import mean, stap
from stasc.models.pooling.mean import MeanPoolingSettings, TemporalMeanPooling
from stasc.models.pooling.registry import (
    Pooled,
    PoolingHead,
    PoolingSettings,
    build_pooling,
    parse_pooling,
    pooling_kinds,
    pooling_settings,
    register_pooling,
)
from stasc.models.pooling.stap import SpatialTemporalAttentionPooling, STAPSettings

__all__ = [
    "MeanPoolingSettings", "Pooled", "PoolingHead", "PoolingSettings", "STAPSettings",
    "SpatialTemporalAttentionPooling", "TemporalMeanPooling", "build_pooling", "mean", "parse_pooling",
    "pooling_kinds", "pooling_settings", "register_pooling", "stap",
]
