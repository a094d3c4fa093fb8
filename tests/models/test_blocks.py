"""The conv blocks of the DCNN (paper Table 1): SAME padding, the time-keeping pool, the width multiplier."""

import pytest
import torch

from stasc.models import BlockSpec, ConvSpec, ModelConfig
from stasc.models.blocks import ConvBlock, build_blocks


def block(spec: BlockSpec, in_channels: int = 1, width: float = 1.0) -> ConvBlock:
    return ConvBlock(spec, in_channels, ModelConfig(width_multiplier=width, blocks=[spec], input_size=(16, 16)))


def convs(*out_channels: int, **options: int) -> list[ConvSpec]:
    return [ConvSpec(out_channels=c, **options) for c in out_channels]


@pytest.mark.parametrize("time", [1, 2, 7, 64])
def test_the_2_by_2_pool_with_stride_2_1_keeps_the_time_length(time: int) -> None:
    layer = block(BlockSpec(convs=convs(4)))
    assert layer(torch.randn(2, 1, 8, time)).shape == (2, 4, 4, time)


def test_time_is_padded_on_the_right_and_the_pad_never_wins() -> None:
    layer = ConvBlock(BlockSpec(convs=convs(1)), 1, ModelConfig())
    layer.convs = torch.nn.Identity()  # look at the pool alone
    x = -torch.arange(1.0, 9.0).reshape(1, 1, 2, 4) - 10  # all negative, so a zero pad would win
    out = layer(x)
    # frame t pools frames t and t + 1; the last frame pools with itself (the −inf pad on the right)
    expected = torch.maximum(x[..., 0, :], x[..., 1, :])
    expected = torch.cat([torch.maximum(expected[..., :-1], expected[..., 1:]), expected[..., -1:]], -1)
    torch.testing.assert_close(out[..., 0, :], expected)


@pytest.mark.parametrize("size,stride,expected", [(128, 2, 64), (127, 2, 64), (128, 1, 128), (9, 3, 3)])
def test_same_padding_gives_ceil_of_size_over_stride(size: int, stride: int, expected: int) -> None:
    layer = block(BlockSpec(convs=convs(2, kernel_size=3, stride=stride), pool_kernel=(1, 1), pool_stride=(1, 1)))
    assert layer(torch.randn(1, 1, size, size)).shape == (1, 2, expected, expected)


def test_each_conv_is_conv_bn_relu_and_1x1_convs_keep_the_grid() -> None:
    layer = block(BlockSpec(convs=[*convs(8), *convs(8, kernel_size=1)]), in_channels=3)
    kinds = [type(m).__name__ for m in layer.convs]
    assert kinds == ["Conv2d", "BatchNorm2d", "ReLU"] * 2
    assert layer.convs[3].kernel_size == (1, 1) and layer.convs[3].padding == (0, 0)
    assert layer(torch.randn(1, 3, 10, 6)).shape == (1, 8, 5, 6)


def test_paper_blocks_follow_table_1() -> None:
    convs = [m for m in build_blocks(ModelConfig.paper()).modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.out_channels, c.kernel_size[0], c.stride[0]) for c in convs] == [
        (64, 3, 2), (64, 3, 1),
        (128, 3, 1), (128, 3, 1),
        (256, 3, 1), (256, 3, 1), (256, 1, 1),
        (512, 3, 1), (512, 3, 1), (512, 1, 1),
    ]  # fmt: skip
    pools = [m for m in build_blocks(ModelConfig.paper()).modules() if isinstance(m, torch.nn.MaxPool2d)]
    assert [(p.kernel_size, p.stride) for p in pools] == [((2, 2), (2, 1))] * 4


@pytest.mark.parametrize("width,expected", [(0.5, [32, 32]), (1 / 16, [4, 4]), (1e-3, [1, 1]), (1.5, [96, 96])])
def test_width_multiplier_rounds_and_keeps_at_least_one_channel(width: float, expected: list[int]) -> None:
    layer = block(BlockSpec(convs=convs(64, 64)), width=width)
    assert [m.out_channels for m in layer.convs if isinstance(m, torch.nn.Conv2d)] == expected


def test_output_grid_matches_the_built_blocks() -> None:
    for config in (ModelConfig.paper(width_multiplier=1 / 16), ModelConfig.paper_cqt_mfcc(width_multiplier=1 / 16)):
        out = build_blocks(config).eval()(torch.randn(1, config.in_channels, *config.input_size))
        assert out.shape[2:] == config.output_grid()
        assert [s.freq for s in config.conv_shapes()][-1] == 2 * config.output_grid()[0]
