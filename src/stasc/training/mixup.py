"""Mixup (Zhang et al. 2017; paper §4): one λ ~ Beta(α, α) per batch, each example mixed with a
random partner from the same batch, targets mixed with the same λ."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def mixup(inputs: Tensor, targets: Tensor, *, alpha: float, rng: np.random.Generator) -> tuple[Tensor, Tensor, float]:
    """``X = λ·Xᵢ + (1−λ)·Xⱼ``, ``y = λ·yᵢ + (1−λ)·yⱼ`` with j a random permutation of the batch.

    ``inputs (B, …)``, ``targets (B, K)`` one-hot or soft; returns the mixed pair and λ.
    """
    if alpha <= 0:
        raise ValueError(f"mixup alpha must be positive, got {alpha}")
    if inputs.shape[0] != targets.shape[0]:
        raise ValueError(f"{inputs.shape[0]} inputs but {targets.shape[0]} targets")
    lam = float(rng.beta(alpha, alpha))
    partner = torch.from_numpy(rng.permutation(inputs.shape[0]))
    if inputs.is_cuda:  # pinned, so the copy does not wait for the GPU
        partner = partner.pin_memory().to(inputs.device, non_blocking=True)
    mixed_inputs = lam * inputs + (1.0 - lam) * inputs[partner]
    mixed_targets = lam * targets + (1.0 - lam) * targets[partner]
    return mixed_inputs, mixed_targets, lam
