"""The networks: the paper's DCNN built from a block list, with STAP or temporal-mean pooling."""

from stasc.models.config import BlockSpec, ConvShape, ConvSpec, ModelConfig
from stasc.models.dcnn import DCNN, DCNNOutput, build_model, count_macs
from stasc.models.pooling import (
    Pooled,
    PoolingHead,
    PoolingSettings,
    SpatialTemporalAttentionPooling,
    TemporalMeanPooling,
    register_pooling,
)

__all__ = [
    "DCNN",
    "BlockSpec",
    "ConvShape",
    "ConvSpec",
    "DCNNOutput",
    "ModelConfig",
    "Pooled",
    "PoolingHead",
    "PoolingSettings",
    "SpatialTemporalAttentionPooling",
    "TemporalMeanPooling",
    "build_model",
    "count_macs",
    "register_pooling",
]
