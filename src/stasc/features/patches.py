"""Spectrogram → fixed-size patches (SPEC §2), and the per-coefficient normaliser.

Patches start at ``0, shift, 2·shift, …`` while they fit, plus one final patch aligned to the end
when frames remain (431 frames, width 128, shift 32 → 11 patches). Spectrograms shorter than
one patch are padded at the end, after normalisation: with zeros (the mean) or with the clip
repeated (``input.short_clip_pad``); callers say how many clips were, once per run. Every patch is
resized to ``size`` (bilinear), so a 110-bin CQT patch becomes 128 × 128.
:class:`stasc.features.frontend.FrontEnd` composes these steps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar, overload

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

ArrayOrTensor = TypeVar("ArrayOrTensor", Tensor, np.ndarray)

CLIP_NORMS = ("none", "mean", "meanstd")
# the least scale "meanstd" divides by: a clip at one constant level (all at the dB floor) has no spread, and its
# mean-removed rows are 0 whatever they are divided by
CLIP_SCALE_FLOOR = 1e-5


@overload
def clip_statistics(spectrogram: Tensor, mode: str) -> tuple[Tensor, Tensor]: ...


@overload
def clip_statistics(spectrogram: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray]: ...


def clip_statistics(spectrogram: Tensor | np.ndarray, mode: str) -> tuple[Tensor | np.ndarray, Tensor | np.ndarray]:
    """The clip normalisation of ``spectrogram (..., R, T)`` as ``(shift (..., R, 1), scale (..., 1, 1))``, so that
    :func:`clip_normalize` is ``(spectrogram - shift) / scale``. ``"mean"``: each row's mean over time, scale 1;
    ``"meanstd"``: the same shift, and the scale is the spread (root mean square) of the mean-removed rows over all
    rows and frames, so every clip reaches the network with one dynamic range; ``"none"`` has none (refused)."""
    if mode not in CLIP_NORMS:
        raise ValueError(f"clip normalisation must be one of {', '.join(map(repr, CLIP_NORMS))}, got {mode!r}")
    if mode == "none":  # every caller skips "none" before asking
        raise ValueError("clip normalisation 'none' has no statistics: nothing is subtracted or divided")
    if isinstance(spectrogram, np.ndarray):
        shift = spectrogram.mean(-1, keepdims=True)
        if mode == "mean":
            return shift, np.ones((*spectrogram.shape[:-2], 1, 1), spectrogram.dtype)
        spread = np.sqrt(np.square(spectrogram - shift).mean((-2, -1), keepdims=True))
        return shift, np.maximum(spread, CLIP_SCALE_FLOOR).astype(spectrogram.dtype)
    shift = spectrogram.mean(-1, keepdim=True)
    if mode == "mean":
        return shift, spectrogram.new_ones((*spectrogram.shape[:-2], 1, 1))
    spread = (spectrogram - shift).square().mean((-2, -1), keepdim=True).sqrt()
    return shift, spread.clamp_min(CLIP_SCALE_FLOOR)


def clip_normalize(spectrogram: ArrayOrTensor, mode: str) -> ArrayOrTensor:
    """``mode`` ``"mean"``: subtract the per-row mean over time (the last axis); ``"meanstd"``: then divide by the
    clip's spread (:func:`clip_statistics`); ``"none"``: as is."""
    if mode == "none":
        return spectrogram
    shift, scale = clip_statistics(spectrogram, mode)  # refuses an unknown mode
    return apply_clip_statistics(spectrogram, shift, scale, mode)


def apply_clip_statistics(spectrogram: ArrayOrTensor, shift: ArrayOrTensor, scale: ArrayOrTensor,
                          mode: str) -> ArrayOrTensor:
    """``spectrogram`` (a whole clip, a window of it) normalised by the clip's ``(shift, scale)`` of
    :func:`clip_statistics` in ``mode``: the one definition that training, prediction and export share."""
    # "mean" subtracts only, so its inputs stay bit for bit what they were before "meanstd" existed
    return spectrogram - shift if mode == "mean" else (spectrogram - shift) / scale


def patch_starts(n_frames: int, *, width: int, shift: int) -> list[int]:
    """Start frames of the patches of a spectrogram with ``n_frames`` frames."""
    if width < 1 or shift < 1:
        raise ValueError(f"patch width and shift must be positive, got width={width}, shift={shift}")
    if n_frames <= width:
        return [0]
    starts = list(range(0, n_frames - width + 1, shift))
    if starts[-1] + width < n_frames:
        starts.append(n_frames - width)  # the end-aligned last patch
    return starts


def pad_to_width(spectrogram: Tensor, width: int, mode: str = "zeros") -> Tensor:
    """``Tensor (..., rows, frames)`` padded on the right to at least ``width`` frames: with zeros
    (``mode="zeros"``), or with its own frames from the start again, as often as it takes (``"repeat"``)."""
    frames = spectrogram.shape[-1]
    short = width - frames
    if short <= 0:
        return spectrogram
    if mode == "zeros":
        return F.pad(spectrogram, (0, short))
    if mode != "repeat":
        raise ValueError(f"short clip padding must be 'zeros' or 'repeat', got {mode!r}")
    if frames == 0:
        raise ValueError("cannot repeat a spectrogram with no frames")
    copies = -(-width // frames)  # ceil
    return spectrogram.repeat(*([1] * (spectrogram.dim() - 1)), copies)[..., :width]


def cut_patches(spectrogram: Tensor, *, width: int, shift: int, pad: str = "zeros") -> Tensor:
    """``Tensor (..., rows, frames)`` → ``(..., patches, rows, width)``; a spectrogram shorter than
    ``width`` frames is padded on the right (:func:`pad_to_width`, ``pad`` its mode)."""
    spectrogram = pad_to_width(spectrogram, width, pad)
    starts = patch_starts(spectrogram.shape[-1], width=width, shift=shift)
    return torch.stack([spectrogram[..., s : s + width] for s in starts], dim=-3)


# a frame is silent when its loudest row sits at the feature's dB floor; the margin absorbs float16 caches' rounding
FLOOR_MARGIN_DB = 0.1


def sounding_frames(spectrogram: Tensor, top_db: float) -> Tensor:
    """``Tensor (..., rows, frames)`` of dB values floored ``top_db`` under each spectrogram's maximum (a view's, as
    the features floor it) → ``(..., frames)`` float: 1 where a frame's loudest row is above that floor, else 0
    (digital silence, or sound more than ``top_db`` under the loudest moment)."""
    loudest = spectrogram.amax(-2)
    floor = loudest.amax(-1, keepdim=True) - top_db
    return (loudest > floor + FLOOR_MARGIN_DB).to(spectrogram.dtype)


def sound_shares(spectrogram: Tensor, *, top_db: float, width: int, shift: int, pad: str = "zeros") -> Tensor:
    """``Tensor (..., rows, frames)`` → ``(..., patches)``: each patch's share of sounding frames
    (:func:`sounding_frames`), the patches cut as :func:`cut_patches` cuts them (a repeated short clip's repeats
    count as themselves; zero padding counts as silence)."""
    sounding = sounding_frames(spectrogram, top_db)[..., None, :]  # ..., 1, frames
    return cut_patches(sounding, width=width, shift=shift, pad=pad).mean(-1).squeeze(-1)


def weighted_mean(probabilities: Tensor, weights: Tensor | None) -> Tensor:
    """``(P, K)`` patch probabilities → ``(K,)``: weighted by ``weights (P,)``; the plain mean where ``weights`` is
    None or sums to zero (every patch silent)."""
    if weights is None:
        return probabilities.mean(0)
    total = weights.sum()
    return torch.where(total > 0, (weights[:, None] * probabilities).sum(0) / total.clamp_min(1e-12),
                       probabilities.mean(0))


def resize_patches(patches: Tensor, size: tuple[int, int]) -> Tensor:
    """Bilinear resize of the last two dims to ``size`` (rows, width); a no-op when equal."""
    if tuple(patches.shape[-2:]) == tuple(size):
        return patches
    lead = patches.shape[:-2]
    flat = patches.reshape(-1, 1, *patches.shape[-2:])
    out = F.interpolate(flat, size=size, mode="bilinear", align_corners=False)
    return out.reshape(*lead, *size)


@dataclass
class Normalizer:
    """Per-row (coefficient, band or bin) mean and standard deviation, ``(rows,)`` float32,
    fitted on the training split only."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        self.mean = np.asarray(self.mean, dtype=np.float32)
        self.std = np.asarray(self.std, dtype=np.float32)
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape:
            raise ValueError(f"normaliser mean {self.mean.shape} and std {self.std.shape} must both be (rows,)")
        if not (np.isfinite(self.mean).all() and np.isfinite(self.std).all() and (self.std > 0).all()):
            raise ValueError("normaliser statistics must be finite with a positive std")

    @classmethod
    def fit(cls, spectrograms: Iterable[np.ndarray]) -> Normalizer:
        """Fit on arrays ``(rows, frames)`` (e.g. every view of every training clip); accumulates in
        float64 so 14,400 clips do not lose precision."""
        total = total_sq = None
        count = 0
        for spec in spectrograms:
            spec = np.asarray(spec, dtype=np.float64)
            if spec.ndim != 2:
                raise ValueError(f"expected (rows, frames) arrays, got shape {spec.shape}")
            if total is None or total_sq is None:
                total, total_sq = np.zeros(spec.shape[0]), np.zeros(spec.shape[0])
            elif spec.shape[0] != total.shape[0]:
                raise ValueError(f"spectrogram with {spec.shape[0]} rows, the first one had {total.shape[0]}")
            total += spec.sum(-1)
            total_sq += np.square(spec).sum(-1)
            count += spec.shape[-1]
        if total is None or total_sq is None or count == 0:
            raise ValueError("cannot fit a normaliser on no data")
        mean = total / count
        var = np.maximum(total_sq / count - np.square(mean), 0.0)
        # a constant coefficient (e.g. the floor of a silent band) would divide by zero
        return cls(mean, np.maximum(np.sqrt(var), 1e-6))

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, state: object) -> Normalizer:
        if not isinstance(state, dict) or not {"mean", "std"} <= set(state):
            raise ValueError("normaliser state needs 'mean' and 'std'")
        return cls(np.asarray(state["mean"], dtype=np.float32), np.asarray(state["std"], dtype=np.float32))
