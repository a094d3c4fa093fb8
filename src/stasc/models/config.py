"""Typed model configuration: the DCNN as a list of blocks (paper Table 1) plus the pooling head.

Pydantic sections (:class:`stasc.schema.Section`), so YAML/JSON dicts validate into them
(``{"blocks": [{"convs": [{"out_channels": 64, "stride": 2}, ...]}, ...]}``) and every bad value
is refused with the key, the value and what was expected.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BeforeValidator, Field, PositiveFloat, SerializeAsAny, field_validator, model_validator

from stasc.models.pooling import PoolingSettings, pooling_settings
from stasc.schema import PositiveInt, Section

HEADS = ("fc_relu", "linear")

Pair = tuple[PositiveInt, PositiveInt]


class ConvSpec(Section):
    """One conv → BatchNorm → ReLU; 'SAME' padding, so the grid shrinks only by the stride."""

    out_channels: PositiveInt
    kernel_size: PositiveInt = 3
    stride: PositiveInt = 1

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"kernel_size {value}: expected an odd size for 'SAME' padding")
        return value


class BlockSpec(Section):
    """Convs, then a max-pool over (frequency, time). Time is padded by ``kernel − stride`` frames
    (see :mod:`stasc.models.blocks`), so the paper's 2×2 pool with stride (2, 1) keeps the time length."""

    convs: Annotated[list[ConvSpec], Field(min_length=1)]
    pool_kernel: Pair = (2, 2)
    pool_stride: Pair = (2, 1)

    @model_validator(mode="after")
    def _time_stride(self) -> BlockSpec:
        if self.pool_stride[1] > self.pool_kernel[1]:
            raise ValueError(
                f"pool_stride {self.pool_stride}: expected a time stride at most the time kernel "
                f"{self.pool_kernel[1]} (the time padding is kernel − stride)"
            )
        return self


class ConvShape(NamedTuple):
    """One conv of a built model: channels in/out, kernel, stride and its output grid (F, T)."""

    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    freq: int
    time: int


def _block(*channels: int, first_stride: int = 1, one_by_one: bool = False, pool: tuple[Pair, Pair] | None = None,
           ) -> BlockSpec:
    convs = [ConvSpec(out_channels=c, kernel_size=3, stride=first_stride if i == 0 else 1)
             for i, c in enumerate(channels)]
    if one_by_one:
        convs.append(ConvSpec(out_channels=channels[-1], kernel_size=1, stride=1))
    kernel, stride = pool or ((2, 2), (2, 1))
    return BlockSpec(convs=convs, pool_kernel=kernel, pool_stride=stride)


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
    return [
        _block(64, 64, first_stride=1, pool=((4, 2), (4, 1))),
        _block(128, 128),
        _block(256, 256, one_by_one=True),
        _block(256, 256, one_by_one=True),
    ]


class ModelConfig(Section):
    """The DCNN: input, blocks, width, pooling head and classifier head.

    - ``in_channels``: 1, or 2 for CQT+MFCC. ``input_size``: (frequency, time) of a patch.
    - ``blocks``: the conv stack (default: Table 1). Channel counts are scaled by
      ``width_multiplier`` (rounded, at least 1); 1/16 gives the tiny models the tests use.
    - ``pooling``: a registered head by kind (``stap``: spatial-temporal attention pooling,
      DCNN^sp; ``mean``: temporal mean, DCNN^nonsp), or a mapping with its settings
      (``{kind: stap, norm: true}``; see :mod:`stasc.models.pooling`).
    - ``head``: ``'fc_relu'`` (paper: FC-10 → ReLU, the softmax is left to the loss) or ``'linear'``.
    - ``dropout``: dropout on the pooled vector before the classifier (not in the paper; 0 = off).
    - ``members``: copies of this network, each initialised and trained (own augmentation and mixup draw,
      own loss) on its own, whose class probabilities are averaged (:mod:`stasc.models.members`); 1 = one DCNN.
    - ``test_time_warps``: frequency-warp factors at which every evaluated or predicted patch is heard, their
      class probabilities averaged (:mod:`stasc.models.probabilities`); ``[1.0]`` = the patch as it is. Training
      is untouched; each factor costs one more forward pass.
    - ``patch_weights``: how a clip's (or a prediction window's) patches combine into its probabilities. ``equal``:
      the mean over its patches (SPEC §4); ``sound``: each patch counts by its share of frames above the first
      feature's dB floor (``top_db`` under the view's loudest), so a patch of digital silence, such as the padding
      that fills ESC's shorter recordings to 5 s, does not vote; a clip with no such frame falls back to ``equal``.
      Training is untouched. Needs a first feature with frequency rows in dB (logmel or cqt).
    """

    in_channels: PositiveInt = 1
    input_size: Pair = (128, 128)
    blocks: Annotated[list[BlockSpec], Field(min_length=1)] = Field(default_factory=lambda: paper_blocks())
    width_multiplier: PositiveFloat = 1.0
    pooling: Annotated[SerializeAsAny[PoolingSettings], BeforeValidator(pooling_settings)] = "stap"  # type: ignore[assignment]
    head: Literal["fc_relu", "linear"] = "fc_relu"
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0
    n_classes: Annotated[int, Field(ge=2)] = 10
    members: PositiveInt = 1
    test_time_warps: Annotated[list[Annotated[float, Field(ge=0.5, le=2.0)]], Field(min_length=1)] = Field(
        default_factory=lambda: [1.0])
    patch_weights: Literal["equal", "sound"] = "equal"

    @model_validator(mode="after")
    def _fits(self) -> ModelConfig:
        self._walk()  # raises when the blocks pool the input below one row or frame
        return self

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
            (kf, _), (sf, st) = block.pool_kernel, block.pool_stride
            # time is padded by kt − st frames before pooling (blocks.py): (T + kt − st − kt) // st + 1
            freq, time = ((freq - kf) // sf + 1 if freq >= kf else 0), (time - st) // st + 1
            if freq < 1 or time < 1:
                raise ValueError(
                    f"block {index} of blocks pools the {self.input_size} input down to "
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
    def paper(cls, **changes: Any) -> ModelConfig:
        """Table 1 on a 1×128×128 patch; ``changes`` override fields (e.g. ``pooling='mean'``)."""
        return cls.parse(changes)

    @classmethod
    def paper_cqt_mfcc(cls, **changes: Any) -> ModelConfig:
        """§6.2: 2×128×128 input (CQT, MFCC), stride-1 first conv, O ∈ R^{4×128×256}."""
        return cls.parse({"in_channels": 2, "blocks": paper_cqt_mfcc_blocks(), **changes})
