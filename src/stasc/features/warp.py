"""Frequency warping of network input patches (vocal tract length perturbation, Jaitly & Hinton 2013): the rows
of a patch stretched (factor > 1: energy moves up) or squeezed about row 0, linearly interpolated; rows that would
come from above the top take the top row.

One definition of the mapping, :func:`warp_source`, serves the random warp of training
(:func:`stasc.training.augment.warp_patches`) and the fixed warps of test time (:func:`warp_rows`,
``model.test_time_warps``). Dimension letters: B patches, C channels, H rows, W frames.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor


def warp_source(rows: int, factors: np.ndarray) -> np.ndarray:
    """``(len(factors), rows)``: the fractional input row each output row reads at each factor (r / factor,
    clipped to the patch)."""
    return np.clip(np.arange(rows)[None] / np.asarray(factors, dtype=np.float64)[:, None], 0, rows - 1)


@functools.lru_cache(maxsize=64)
def warp_matrix(rows: int, factor: float) -> Tensor:
    """``(rows, rows)`` float32: ``matrix @ patch`` is ``patch`` warped by ``factor`` (linear interpolation
    between the two input rows around each source row). Cached: prediction asks for the same few matrices on every
    batch; callers must not modify the tensor in place."""
    source = warp_source(rows, np.array([factor]))[0]
    below = np.floor(source).astype(np.int64)
    above = np.minimum(below + 1, rows - 1)
    weight = source - below
    matrix = np.zeros((rows, rows))
    np.add.at(matrix, (np.arange(rows), below), 1 - weight)
    np.add.at(matrix, (np.arange(rows), above), weight)
    return torch.from_numpy(matrix.astype(np.float32))


def warp_rows(patches: Tensor, factor: float) -> Tensor:
    """``patches (B, C, H, W)`` with every patch's rows warped by the one ``factor`` (1: unchanged); a matrix
    product, so it runs in an exported graph too."""
    if factor == 1.0:
        return patches
    # int(): a tracing exporter hands the height over as a tensor; a model's patch height is fixed, so a constant
    matrix = warp_matrix(int(patches.shape[-2]), factor).to(patches.device, patches.dtype)
    return torch.matmul(matrix, patches)  # (H, H) @ (B, C, H, W) → B, C, H, W
