"""Frequency and time masking of training patches (SpecAugment, Park et al. 2019), not in the paper.

Each patch gets ``freq_masks`` bands of 0..``freq_max_width`` adjacent rows and ``time_masks``
spans of 0..``time_max_width`` adjacent frames set to zero, which is the training mean of the
normalised features. Widths and positions are drawn per patch from the module's seeded stream.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def _band_mask(rng: np.random.Generator, n_patches: int, n_masks: int, max_width: int, size: int) -> np.ndarray:
    """``(n_patches, size)`` booleans: True inside any of the patch's ``n_masks`` random bands."""
    max_width = min(max_width, size)
    widths = rng.integers(0, max_width + 1, size=(n_patches, n_masks))
    starts = (rng.random((n_patches, n_masks)) * (size - widths + 1)).astype(np.int64)
    index = np.arange(size)
    inside = (index >= starts[..., None]) & (index < (starts + widths)[..., None])  # B, masks, size
    return inside.any(axis=1)


def mask_patches(
    patches: Tensor, *, freq_masks: int, freq_max_width: int, time_masks: int, time_max_width: int,
    rng: np.random.Generator,
) -> Tensor:
    """``patches (B, C, rows, frames)`` with random row bands and frame spans zeroed (all channels alike)."""
    if patches.ndim != 4:
        raise ValueError(f"expected patches (B, C, rows, frames), got shape {tuple(patches.shape)}")
    n, _, rows, frames = patches.shape
    keep = torch.ones(n, 1, rows, frames, dtype=torch.bool)
    if freq_masks > 0 and freq_max_width > 0:
        keep &= ~torch.from_numpy(_band_mask(rng, n, freq_masks, freq_max_width, rows))[:, None, :, None]
    if time_masks > 0 and time_max_width > 0:
        keep &= ~torch.from_numpy(_band_mask(rng, n, time_masks, time_max_width, frames))[:, None, None, :]
    return patches * keep.to(patches.device, patches.dtype)
