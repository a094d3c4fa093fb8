"""Typed model configuration: the DCNN as a list of blocks (paper Table 1) plus the pooling head.

Plain nested dataclasses with simple annotated fields, so :func:`stasc.config.from_dict` builds them
from YAML/JSON dicts (``{"blocks": [{"convs": [{"out_channels": 64, "stride": 2}, ...]}, ...]}``).
Every ``__post_init__`` raises ``ValueError`` naming the field, the value and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NamedTuple

POOLINGS = ("stap", "mean")
HEADS = ("fc_relu", "linear")
STAP_SCALES = ("none", "st")


def _positive_int(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{owner}.{name}: got {value!r}, expected a positive integer")


def _positive_pair(owner: str, name: str, value: object) -> None:
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in value)
    ):
        raise ValueError(f"{owner}.{name}: got {value!r}, expected a (frequency, time) pair of positive integers")


def _one_of(owner: str, name: str, value: object, options: tuple[object, ...]) -> None:
    if value not in options:
        raise ValueError(f"{owner}.{name}: got {value!r}, expected one of {', '.join(map(repr, options))}")


@dataclass
class ConvSpec:
    """One conv → BatchNorm → ReLU; 'SAME' padding, so the grid shrinks only by the stride."""

    out_channels: int
    kernel_size: int = 3
    stride: int = 1

    def __post_init__(self) -> None:
        for name in ("out_channels", "kernel_size", "stride"):
            _positive_int("ConvSpec", name, getattr(self, name))
        if self.kernel_size % 2 == 0:
            raise ValueError(f"ConvSpec.kernel_size: got {self.kernel_size}, expected an odd size for 'SAME' padding")


@dataclass
class BlockSpec:
    """Convs, then a max-pool over (frequency, time). Time is padded by ``kernel − stride`` frames
    (see :mod:`stasc.models.blocks`), so the paper's 2×2 pool with stride (2, 1) keeps the time length."""

    convs: list[ConvSpec]
    pool_kernel: tuple[int, int] = (2, 2)
    pool_stride: tuple[int, int] = (2, 1)

    def __post_init__(self) -> None:
        if not isinstance(self.convs, list) or not self.convs:
            raise ValueError(f"BlockSpec.convs: got {self.convs!r}, expected a non-empty list of ConvSpec")
        _positive_pair("BlockSpec", "pool_kernel", self.pool_kernel)
        _positive_pair("BlockSpec", "pool_stride", self.pool_stride)
        if self.pool_stride[1] > self.pool_kernel[1]:
            raise ValueError(
                f"BlockSpec.pool_stride: got {self.pool_stride}, expected a time stride at most the time kernel "
                f"{self.pool_kernel[1]} (the time padding is kernel − stride)"
            )


class ConvShape(NamedTuple):
    """One conv of a built model: channels in/out, kernel, stride and its output grid (F, T)."""

    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    freq: int
    time: int


def _block(*channels: int, first_stride: int = 1, one_by_one: bool = False) -> BlockSpec:
    convs = [ConvSpec(c, 3, first_stride if i == 0 else 1) for i, c in enumerate(channels)]
    if one_by_one:
        convs.append(ConvSpec(channels[-1], 1, 1))
    return BlockSpec(convs)


def paper_blocks() -> list[BlockSpec]:
    """Table 1: 1×128×128 → (stride-2 conv) 64×64×64 → four (2, 1) pools → O = 512 × 4 × 64."""
    return [
        _block(64, 64, first_stride=2),
        _block(128, 128),
        _block(256, 256, one_by_one=True),
        _block(512, 512, one_by_one=True),
    ]


def paper_cqt_mfcc_blocks() -> list[BlockSpec]:
    """§6.2 variant: first conv stride 1 and 256 channels in the last block, O = 256 × 4 × 128.

    With a stride-1 first conv the 128×128 input keeps 128 rows and 128 frames. Every pool has time
    stride 1, so T stays 128. Four pools of frequency stride 2 would leave 128 / 16 = 8 rows, not the
    paper's 4, so the first block pools frequency by 4 (kernel (4, 2), stride (4, 1)) and the other
    three by 2: 128 / 4 / 2 / 2 / 2 = 4. **Reading**: the paper says "all convolutions in the third
    layer are set to 256", which Table 1 already has; O ∈ R^{4×128×256} needs the *last* block at 256.
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
    """The DCNN: input, blocks, width, pooling head and classifier head.

    - ``in_channels``: 1, or 2 for CQT+MFCC. ``input_size``: (frequency, time) of a patch.
    - ``blocks``: the conv stack (default: Table 1). Channel counts are scaled by
      ``width_multiplier`` (rounded, at least 1); 1/16 gives the tiny models the tests use.
    - ``pooling``: ``'stap'`` (spatial-temporal attention pooling, DCNN^sp) or ``'mean'``
      (temporal mean, DCNN^nonsp).
    - ``head``: ``'fc_relu'`` (paper: FC-10 → ReLU, the softmax is left to the loss) or ``'linear'``.
    - ``stap_scale``: ``'none'`` (paper, eq. 6) or ``'st'``, which multiplies the mask A by S·T
      before the tanh: each entry of A is ~1/(S·T), which keeps x near 1e-2 and slows training.
    - ``stap_norm``: a LayerNorm on the pooled vector x (STAP only; not in the paper).
    - ``dropout``: dropout on the pooled vector before the classifier (not in the paper; 0 = off).
    """

    in_channels: int = 1
    input_size: tuple[int, int] = (128, 128)
    blocks: list[BlockSpec] = field(default_factory=paper_blocks)
    width_multiplier: float = 1.0
    pooling: Literal["stap", "mean"] = "stap"
    head: Literal["fc_relu", "linear"] = "fc_relu"
    stap_scale: Literal["none", "st"] = "none"
    stap_norm: bool = False
    dropout: float = 0.0
    n_classes: int = 10

    def __post_init__(self) -> None:
        _positive_int("ModelConfig", "in_channels", self.in_channels)
        _positive_pair("ModelConfig", "input_size", self.input_size)
        if not isinstance(self.blocks, list) or not self.blocks:
            raise ValueError(f"ModelConfig.blocks: got {self.blocks!r}, expected a non-empty list of BlockSpec")
        if isinstance(self.width_multiplier, bool) or not isinstance(self.width_multiplier, (int, float)) or not (
            self.width_multiplier > 0
        ):
            raise ValueError(f"ModelConfig.width_multiplier: got {self.width_multiplier!r}, expected a number > 0")
        _one_of("ModelConfig", "pooling", self.pooling, POOLINGS)
        _one_of("ModelConfig", "head", self.head, HEADS)
        _one_of("ModelConfig", "stap_scale", self.stap_scale, STAP_SCALES)
        if not isinstance(self.stap_norm, bool):
            raise ValueError(f"ModelConfig.stap_norm: got {self.stap_norm!r}, expected true or false")
        if isinstance(self.dropout, bool) or not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise ValueError(f"ModelConfig.dropout: got {self.dropout!r}, expected a number in [0, 1)")
        if isinstance(self.n_classes, bool) or not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise ValueError(f"ModelConfig.n_classes: got {self.n_classes!r}, expected an integer ≥ 2")
        self._walk()  # raises when the blocks pool the input below one row or frame

    def channels(self, base: int) -> int:
        """A conv's channel count after the width multiplier (rounded, at least 1)."""
        return max(1, round(base * self.width_multiplier))

    def conv_shapes(self) -> list[ConvShape]:
        """Every conv with its output grid, in order (what :func:`count_macs` sums over)."""
        return self._walk()[0]

    def output_grid(self) -> tuple[int, int]:
        """(F, T) of the last block's output for ``input_size``: (4, 64) for the paper."""
        return self._walk()[1]

    def _walk(self) -> tuple[list[ConvShape], tuple[int, int]]:
        """The one place that does the shape arithmetic: conv shapes and the final (F, T)."""
        shapes = []
        freq, time = self.input_size
        channels = self.in_channels
        for index, block in enumerate(self.blocks):
            for conv in block.convs:
                # 'SAME' padding: ceil(n / stride)
                freq, time = -(-freq // conv.stride), -(-time // conv.stride)
                out = self.channels(conv.out_channels)
                shapes.append(ConvShape(channels, out, conv.kernel_size, conv.stride, freq, time))
                channels = out
            (kf, kt), (sf, st) = block.pool_kernel, block.pool_stride
            # time is padded by kt − st frames before pooling (blocks.py): (T + kt − st − kt) // st + 1
            freq, time = ((freq - kf) // sf + 1 if freq >= kf else 0), (time - st) // st + 1
            if freq < 1 or time < 1:
                raise ValueError(
                    f"ModelConfig.blocks: block {index} pools the {self.input_size} input down to "
                    f"{max(freq, 0)}×{max(time, 0)}, expected at least one row and one frame"
                )
        return shapes, (freq, time)

    @property
    def out_channels(self) -> int:
        """C of the last block's output (after the width multiplier)."""
        return self.channels(self.blocks[-1].convs[-1].out_channels)

    @property
    def spatial_size(self) -> int:
        """S = F · C of the reshaped output O ∈ R^{S×T}: 2048 for the paper."""
        return self.output_grid()[0] * self.out_channels

    @classmethod
    def paper(cls, **changes: object) -> ModelConfig:
        """Table 1 on a 1×128×128 patch; ``changes`` override fields (e.g. ``pooling='mean'``)."""
        return cls(**changes)  # type: ignore[arg-type]

    @classmethod
    def paper_cqt_mfcc(cls, **changes: object) -> ModelConfig:
        """§6.2: 2×128×128 input (CQT, MFCC), stride-1 first conv, O ∈ R^{4×128×256}."""
        return cls(**{"in_channels": 2, "blocks": paper_cqt_mfcc_blocks(), **changes})  # type: ignore[arg-type]
