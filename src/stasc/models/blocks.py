"""Convolution blocks of the DCNN (paper Table 1), built from :class:`BlockSpec` lists."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from stasc.models.config import BlockSpec, ModelConfig


class ConvBlock(nn.Module):
    """conv → BN → ReLU for each conv of the spec, then a max-pool that keeps the time length.

    The paper's 2×2 pool with stride (2, 1) would shorten time by one; the input is padded by
    ``kernel − stride`` frames on the right (with -inf, so the pad never wins the max) so T stays.
    """

    def __init__(self, spec: BlockSpec, in_channels: int, config: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for conv in spec.convs:
            out = config.channels(conv.out_channels)
            # 'SAME' padding for odd kernels; with stride 2 this gives ceil(n / 2) like TensorFlow
            layers += [
                nn.Conv2d(channels, out, conv.kernel_size, stride=conv.stride, padding=conv.kernel_size // 2, bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            channels = out
        self.convs = nn.Sequential(*layers)
        self.out_channels = channels
        self.pool = nn.MaxPool2d(spec.pool_kernel, spec.pool_stride)
        self.time_pad = spec.pool_kernel[1] - spec.pool_stride[1]

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor (B, C, F, T)`` → ``(B, C', F', T)``."""
        x = self.convs(x)
        if self.time_pad > 0:
            x = F.pad(x, (0, self.time_pad), value=float("-inf"))
        return self.pool(x)


def build_blocks(config: ModelConfig) -> nn.Sequential:
    blocks = []
    channels = config.in_channels
    for spec in config.blocks:
        block = ConvBlock(spec, channels, config)
        blocks.append(block)
        channels = block.out_channels
    return nn.Sequential(*blocks)
