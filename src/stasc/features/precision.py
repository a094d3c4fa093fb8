"""Full float32 arithmetic for feature code, whatever the process allows elsewhere.

On Ampere and later GPUs PyTorch may run float32 matmuls and cuDNN convolutions in TF32 (10-bit
mantissa), which moves a CQT by up to 0.5 dB (p99, against 0.03 dB in float32). The network may use
it; the features must not, so a cache filled on one device equals one filled on another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch


def _legacy_state() -> tuple[bool, str] | None:
    """The TF32 switches of torch's legacy API, or None where reading them raises (torch >= 2.9 once a
    process has used the ``fp32_precision`` API, whose state the legacy readers refuse to report)."""
    try:
        return torch.backends.cuda.matmul.allow_tf32, torch.get_float32_matmul_precision()
    except RuntimeError:
        return None


@contextmanager
def exact_float32() -> Iterator[None]:
    """Within the block, float32 matmuls and convolutions are not rounded to TF32 (restored after)."""
    legacy = _legacy_state()
    if legacy is None:
        matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv  # type: ignore[attr-defined]
        saved = matmul.fp32_precision, conv.fp32_precision
        matmul.fp32_precision = conv.fp32_precision = "ieee"
        try:
            yield
        finally:
            matmul.fp32_precision, conv.fp32_precision = saved
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    try:
        cudnn = torch.backends.cudnn
        with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, benchmark_limit=cudnn.benchmark_limit,
                         deterministic=cudnn.deterministic, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, precision = legacy
        torch.set_float32_matmul_precision(precision)
