"""The networks: the paper's DCNN built from a block list, with STAP or temporal-mean pooling, alone or averaged."""

from stasc.models.config import BlockSpec, ConvShape, ConvSpec, ModelConfig
from stasc.models.dcnn import DCNN, DCNNOutput, count_macs
from stasc.models.members import MemberAverage, build_model
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
    "MemberAverage",
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
