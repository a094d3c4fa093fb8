"""The VGG-style DCNN of the paper (Table 1) with a pooling head; ``build_model(cfg)``."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor, nn

from stasc.models.blocks import build_blocks
from stasc.models.config import ModelConfig
from stasc.models.pooling import SpatialTemporalAttentionPooling, TemporalMeanPooling


class DCNNOutput(NamedTuple):
    logits: Tensor  # (B, K)
    a_tem: Tensor | None  # (B, T)
    a_spa: Tensor | None  # (B, S), S = F·C in (F, C) order: row s = f · C + c


class DCNN(nn.Module):
    """Conv blocks → O ∈ R^{S×T} → STAP or temporal mean → FC (→ ReLU) → logits."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.features = build_blocks(config)
        freq, time = config.output_grid()
        spatial = config.spatial_size
        if config.pooling == "stap":
            self.pooling: nn.Module = SpatialTemporalAttentionPooling(
                spatial, time, scale=config.stap_scale, norm=config.stap_norm
            )
        else:
            self.pooling = TemporalMeanPooling()
        self.classifier = nn.Linear(spatial, config.n_classes)
        self.head_relu = config.head == "fc_relu"
        self.grid = (freq, time)

    def forward(self, x: Tensor, return_attention: bool = False) -> Tensor | DCNNOutput:
        """Logits of patches.

        Legend: B batch, C channels, F frequency rows, T time steps, S = F·C, K classes.
        ``x (B, C_in, H, W)`` → ``(B, K)``; with ``return_attention`` a :class:`DCNNOutput`.
        """
        o = self.features(x)  # B, C, F, T
        batch, channels, freq, time = o.shape
        o = o.permute(0, 2, 1, 3).reshape(batch, freq * channels, time)  # B, S, T
        pooled = self.pooling(o)
        logits = self.classifier(pooled.x)
        if self.head_relu:
            logits = logits.relu()
        if return_attention:
            return DCNNOutput(logits, pooled.a_tem, pooled.a_spa)
        return logits


def build_model(config: ModelConfig) -> DCNN:
    return DCNN(config)


def count_macs(config: ModelConfig) -> int:
    """Multiply-accumulates of one patch forward (convolutions and the classifier)."""
    macs = 0
    freq, time = config.input_size
    channels = config.in_channels
    for block in config.blocks:
        for conv in block.convs:
            freq, time = -(-freq // conv.stride), -(-time // conv.stride)
            out = config.channels(conv.out_channels)
            macs += freq * time * out * channels * conv.kernel_size**2
            channels = out
        (kf, kt), (sf, st) = block.pool_kernel, block.pool_stride
        freq, time = (freq - kf) // sf + 1, (time - st) // st + 1
    return macs + config.spatial_size * config.n_classes
