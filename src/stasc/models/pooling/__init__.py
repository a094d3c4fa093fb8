"""Pooling heads and their registry; importing this package registers the built-in ones."""

from stasc.models.pooling import mean, meanmax, stap
from stasc.models.pooling.mean import MeanPoolingSettings, TemporalMeanPooling
from stasc.models.pooling.meanmax import MeanMaxPoolingSettings, TemporalMeanMaxPooling
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
    "MeanMaxPoolingSettings", "MeanPoolingSettings", "Pooled", "PoolingHead", "PoolingSettings", "STAPSettings",
    "SpatialTemporalAttentionPooling", "TemporalMeanMaxPooling", "TemporalMeanPooling", "build_pooling", "mean",
    "meanmax", "parse_pooling", "pooling_kinds", "pooling_settings", "register_pooling", "stap",
]
