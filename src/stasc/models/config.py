"""Typed model configuration: the DCNN as a list of blocks (paper Table 1) plus the pooling head."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class ConvSpec:
    """One convolution → BatchNorm → ReLU; 'SAME' padding."""

    out_channels: int
    kernel_size: int = 3
    stride: int = 1

    def __post_init__(self) -> None:
        if self.out_channels < 1 or self.kernel_size < 1 or self.stride < 1:
            raise ValueError(
                f"conv out_channels, kernel_size and stride must be positive, got "
                f"{self.out_channels}, {self.kernel_size}, {self.stride}"
            )
        if self.kernel_size % 2 == 0:
            raise ValueError(f"conv kernel_size must be odd for 'SAME' padding, got {self.kernel_size}")


@dataclass
class BlockSpec:
    """Convolutions, then a max-pool (kernel, stride) over (frequency, time); stride (2, 1) keeps time."""

    convs: list[ConvSpec]
    pool_kernel: tuple[int, int] = (2, 2)
    pool_stride: tuple[int, int] = (2, 1)

    def __post_init__(self) -> None:
        if not self.convs:
            raise ValueError("a block needs at least one conv")
        if min(self.pool_kernel) < 1 or min(self.pool_stride) < 1:
            raise ValueError(f"pool kernel and stride must be positive, got {self.pool_kernel}, {self.pool_stride}")


def _block(*channels: int, first_stride: int = 1, one_by_one: bool = False) -> BlockSpec:
    convs = [ConvSpec(c, 3, first_stride if i == 0 else 1) for i, c in enumerate(channels)]
    if one_by_one:
        convs.append(ConvSpec(channels[-1], 1, 1))
    return BlockSpec(convs)


def paper_blocks() -> list[BlockSpec]:
    """Table 1: 1×128×128 → (stride-2 conv) 64×64×64 → four (2,1) pools → O = 512 × 4 × 64."""
    return [
        _block(64, 64, first_stride=2),
        _block(128, 128),
        _block(256, 256, one_by_one=True),
        _block(512, 512, one_by_one=True),
    ]


def paper_cqt_mfcc_blocks() -> list[BlockSpec]:
    """§6.2 variant: first conv stride 1 and 256 channels in the last block, O = 256 × 4 × 128.

    With a stride-1 first conv the 128×128 input keeps 128 frequency rows; pooling frequency by 2
    in four blocks would leave 8, so the first block pools frequency by 4 (kernel (4, 2), stride
    (4, 1)) and the rest by 2: 128 / 4 / 2 / 2 / 2 = 4 rows, while time stays 128 throughout.
    """
    blocks = [
        _block(64, 64, first_stride=1),
        _block(128, 128),
        _block(256, 256, one_by_one=True),
        _block(256, 256, one_by_one=True),
    ]
    blocks[0].pool_kernel, blocks[0].pool_stride = (4, 2), (4, 1)
    return blocks


@dataclass
class ModelConfig:
    """The DCNN: blocks, width, pooling head and classifier head.

    ``pooling``: ``stap`` (spatial-temporal attention pooling, DCNN^sp) or ``mean`` (temporal mean,
    DCNN^nonsp). ``head``: ``fc_relu`` (the paper's FC-10 followed by ReLU, before the softmax) or
    ``linear``. STAP variants beyond the paper's exact form: ``stap_scale='st'`` multiplies the
    mask A by S·T before the tanh (each entry of A is ~1/(S·T), which keeps x near 1e-2);
    ``stap_norm=True`` adds a LayerNorm on the pooled vector x.
    """

    in_channels: int = 1
    input_size: tuple[int, int] = (128, 128)
    blocks: list[BlockSpec] = field(default_factory=paper_blocks)
    width_multiplier: float = 1.0
    pooling: Literal["stap", "mean"] = "stap"
    head: Literal["fc_relu", "linear"] = "fc_relu"
    stap_scale: Literal["none", "st"] = "none"
    stap_norm: bool = False
    n_classes: int = 10

    def __post_init__(self) -> None:
        if self.in_channels < 1:
            raise ValueError(f"model.in_channels must be positive, got {self.in_channels}")
        if self.width_multiplier <= 0:
            raise ValueError(f"model.width_multiplier must be positive, got {self.width_multiplier}")
        if self.n_classes < 2:
            raise ValueError(f"model.n_classes must be at least 2, got {self.n_classes}")
        if not self.blocks:
            raise ValueError("model.blocks must hold at least one block")
        if self.pooling not in ("stap", "mean"):
            raise ValueError(f"model.pooling must be 'stap' or 'mean', got {self.pooling!r}")
        if self.head not in ("fc_relu", "linear"):
            raise ValueError(f"model.head must be 'fc_relu' or 'linear', got {self.head!r}")
        freq, time = self.output_grid()
        if freq < 1 or time < 1:
            raise ValueError(
                f"model.blocks reduce the {self.input_size} input to {freq}×{time}: fewer than one row or frame"
            )

    def channels(self, base: int) -> int:
        """A conv's channel count after the width multiplier (rounded, at least 1)."""
        return max(1, round(base * self.width_multiplier))

    def output_grid(self) -> tuple[int, int]:
        """(F, T) of the last block's output for ``input_size``."""
        freq, time = self.input_size
        for block in self.blocks:
            for conv in block.convs:
                freq, time = -(-freq // conv.stride), -(-time // conv.stride)  # 'SAME': ceil(n / stride)
            (kf, kt), (sf, st) = block.pool_kernel, block.pool_stride
            # time is padded by kt − st so a stride-1 pool keeps its length (see blocks.py)
            freq = (freq - kf) // sf + 1
            time = (time + (kt - st) - kt) // st + 1
        return freq, time

    @property
    def out_channels(self) -> int:
        return self.channels(self.blocks[-1].convs[-1].out_channels)

    @property
    def spatial_size(self) -> int:
        """S = F · C of the reshaped output O ∈ R^{S×T}."""
        return self.output_grid()[0] * self.out_channels

    @classmethod
    def paper(cls, **changes: object) -> ModelConfig:
        return cls(**changes)  # type: ignore[arg-type]

    @classmethod
    def paper_cqt_mfcc(cls, **changes: object) -> ModelConfig:
        return cls(**{"in_channels": 2, "blocks": paper_cqt_mfcc_blocks(), **changes})  # type: ignore[arg-type]
