"""Convolution blocks of the DCNN (paper Table 1), built from :class:`BlockSpec` lists."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from stasc.models.config import BlockSpec, ModelConfig


class ConvBlock(nn.Module):
    """conv → BN → ReLU for each conv of the spec, then a max-pool that keeps the time length.

    Convs use 'SAME' padding (``kernel // 2`` on each side, odd kernels only): the grid shrinks to
    ``ceil(n / stride)`` as in TensorFlow. For a stride-2 conv on an even size TensorFlow pads
    (0, 1) and PyTorch (1, 1), so the sampling grid is offset by one input row/frame; sizes agree.

    The paper's 2×2 pool with time stride 1 would shorten time by one (128 → 127). The conv output
    is padded by ``kernel − stride`` frames on the **right** (the end of the patch, as TensorFlow's
    'SAME' pooling does) with −inf, so the pad never wins the max: output frame t is the max over
    frames t … t + kernel − 1, the last frame pools with itself alone, and T stays the same.
    """

    def __init__(self, spec: BlockSpec, in_channels: int, config: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for conv in spec.convs:
            out = config.channels(conv.out_channels)
            layers += [
                # no bias: the BatchNorm that follows has its own shift
                nn.Conv2d(channels, out, conv.kernel_size, stride=conv.stride, padding=conv.kernel_size // 2,
                          bias=False),
                nn.BatchNorm2d(out),
                nn.ReLU(inplace=True),
            ]
            channels = out
        self.convs = nn.Sequential(*layers)
        self.out_channels = channels
        self.pool = nn.MaxPool2d(spec.pool_kernel, spec.pool_stride)
        self.time_pad = spec.pool_kernel[1] - spec.pool_stride[1]

    def forward(self, x: Tensor) -> Tensor:
        """``Tensor (B, C, F, T)`` → ``(B, C', F', T')``; T' = T for time stride 1."""
        x = self.convs(x)
        if self.time_pad > 0:
            x = F.pad(x, (0, self.time_pad), value=float("-inf"))
        return self.pool(x)


def build_blocks(config: ModelConfig) -> nn.Sequential:
    """The conv stack of ``config.blocks``: ``(B, C_in, F_in, T_in)`` → ``(B, C, F, T)``."""
    blocks = []
    channels = config.in_channels
    for spec in config.blocks:
        block = ConvBlock(spec, channels, config)
        blocks.append(block)
        channels = block.out_channels
    return nn.Sequential(*blocks)
