"""The numeric precision training runs in: bfloat16 autocast where the hardware computes it natively."""

from __future__ import annotations

import torch

from stasc.config import TrainConfig


def cpu_has_native_bf16() -> bool:
    """True on CPUs with AMX or AVX512-BF16 (Intel Sapphire Rapids and later, AMD Zen 4 and later): oneDNN then
    runs bfloat16 convolutions 2-3x faster than float32; elsewhere bfloat16 is emulated and slower."""
    return bool(torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported())


def training_precision(train: TrainConfig) -> str:
    """``train.precision`` with ``auto`` resolved: bf16-mixed on CUDA and on CPUs with native bfloat16, else
    32-true. Lightning's bf16-mixed autocasts convolutions and matmuls and keeps the weights, the optimiser and
    the loss in float32."""
    if train.precision != "auto":
        return train.precision
    on_cuda = torch.cuda.is_available() and train.accelerator in ("auto", "gpu", "cuda")
    return "bf16-mixed" if on_cuda or cpu_has_native_bf16() else "32-true"
