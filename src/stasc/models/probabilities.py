"""What every caller reads from a trained network: class probabilities of patches, averaged over the model's
test-time frequency warps (``model.test_time_warps``).

Evaluation (validation and test scoring in training), prediction, export and explain all call
:func:`class_probabilities`, so a model predicts the same way everywhere. With warps ``[0.9, 1.0, 1.1]`` each
patch goes through the network three times, its rows squeezed, as is and stretched
(:func:`stasc.features.warp.warp_rows`), and the three softmax outputs are averaged: the training augmentation's
frequency warp, at fixed factors. For voices this averages over vocal tract lengths (on FSDD's validation
speakers it was worth +0.8 points, ``benchmarks/warps.py``); it costs one forward pass per warp.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from stasc.features.warp import warp_rows


def class_probabilities(network: Callable[[Tensor], Tensor], patches: Tensor, warps: Sequence[float]) -> Tensor:
    """``patches (B, C, H, W)`` → ``(B, K)`` float32: the mean over ``warps`` of softmax(``network``(the patches
    warped by each factor)); ``network`` maps patches to logits (or log probabilities)."""
    if not warps:
        raise ValueError("test-time warps: expected at least one factor (1.0: the patches as they are)")
    views = [network(warp_rows(patches, factor)).float().softmax(-1) for factor in warps]
    return views[0] if len(views) == 1 else torch.stack(views).mean(0)
