"""The VGG-style DCNN of the paper (Table 1) with a pooling head; ``build_model(cfg)``."""

from __future__ import annotations

from typing import Literal, NamedTuple, overload

from torch import Tensor, nn

from stasc.models.blocks import build_blocks
from stasc.models.config import ModelConfig
from stasc.models.pooling import build_pooling


class DCNNOutput(NamedTuple):
    """Logits with the STAP attention vectors (``None`` for the temporal-mean head)."""

    logits: Tensor  # (B, K)
    a_tem: Tensor | None  # (B, T), sums to 1 over T (None for a head without attention)
    a_spa: Tensor | None  # (B, S), sums to 1 over S; S = F·C in (F, C) order: row s = f · C + c


class DCNN(nn.Module):
    """Conv blocks → O ∈ R^{S×T} → pooling head (STAP, temporal mean …) → x ∈ R^S → FC (→ ReLU) → logits.

    Returns logits; the softmax belongs to the loss and the prediction code. Holds no optimizer,
    loss or I/O. ``config`` is kept on the module so checkpoints can store it.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.features = build_blocks(config)
        _, time = config.output_grid()
        spatial = config.spatial_size
        self.pooling = build_pooling(config.pooling, spatial=spatial, temporal=time)
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(spatial, config.n_classes)
        self.head_relu = config.head == "fc_relu"

    @overload
    def forward(self, x: Tensor, return_attention: Literal[False] = ..., member: int | None = ...) -> Tensor: ...

    @overload
    def forward(self, x: Tensor, return_attention: Literal[True], member: int | None = ...) -> DCNNOutput: ...

    def forward(self, x: Tensor, return_attention: bool = False, member: int | None = None) -> Tensor | DCNNOutput:
        """Logits of a batch of patches.

        Legend: B batch, C channels, F frequency rows, T time steps, S = F·C, K classes.
        ``x (B, C_in, F_in, T_in)`` → ``logits (B, K)``; with ``return_attention`` a
        :class:`DCNNOutput` (logits, ``a_tem (B, T)``, ``a_spa (B, S)``). ``member`` is the signature of
        :class:`~stasc.models.members.MemberAverage`: a single DCNN is its own member 0.
        """
        if member not in (None, 0):
            raise ValueError(f"a single DCNN has only member 0, got member={member}")
        o = self.features(x)  # B, C, F, T
        batch, channels, freq, time = o.shape
        o = o.permute(0, 2, 1, 3).reshape(batch, freq * channels, time)  # B, S, T (row s = f·C + c)
        pooled = self.pooling(o)
        logits = self.classifier(self.dropout(pooled.x))  # B, K
        if self.head_relu:
            logits = logits.relu()
        if return_attention:
            return DCNNOutput(logits, pooled.a_tem, pooled.a_spa)
        return logits


def count_macs(config: ModelConfig) -> int:
    """Multiply-accumulates of one patch forward, counted analytically over convs and the classifier.

    BatchNorm, ReLU, pooling and STAP (≈ 3·S·T) are left out; the paper model gives 3,525,595,136 (≈ 3.5 GMAC).
    ``model.members`` copies cost that many times one.
    """
    convs = sum(s.freq * s.time * s.out_channels * s.in_channels * s.kernel_size**2 for s in config.conv_shapes())
    return (convs + config.spatial_size * config.n_classes) * config.members
