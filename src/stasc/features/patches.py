"""Spectrogram → fixed-size patches (SPEC §2), and the per-coefficient normaliser.

Patches start at ``0, shift, 2·shift, …`` while they fit, plus one final patch aligned to the end
when frames remain (431 frames, width 128, shift 32 → 11 patches). Spectrograms shorter than
one patch are zero-padded at the end (after normalisation, so the pad is the mean) with a
warning. Every patch is resized to ``size`` (bilinear), so a 110-bin CQT patch becomes 128 × 128.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor


def clip_normalize(spectrogram: Tensor | np.ndarray, mode: str) -> Tensor | np.ndarray:
    """``mode`` ``"mean"``: subtract the per-row mean over time (the last axis); ``"none"``: as is."""
    if mode == "none":
        return spectrogram
    if mode != "mean":
        raise ValueError(f"clip normalisation must be 'none' or 'mean', got {mode!r}")
    if isinstance(spectrogram, np.ndarray):
        return spectrogram - spectrogram.mean(-1, keepdims=True)
    return spectrogram - spectrogram.mean(-1, keepdim=True)


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


def cut_patches(spectrogram: Tensor, *, width: int, shift: int) -> Tensor:
    """``Tensor (..., rows, frames)`` → ``(..., patches, rows, width)``.

    A spectrogram shorter than ``width`` frames is zero-padded on the right, with a warning.
    """
    n_frames = spectrogram.shape[-1]
    if n_frames < width:
        warnings.warn(
            f"spectrogram has {n_frames} frames, fewer than the patch width {width}: zero-padded", stacklevel=2
        )
        spectrogram = F.pad(spectrogram, (0, width - n_frames))
    starts = patch_starts(spectrogram.shape[-1], width=width, shift=shift)
    return torch.stack([spectrogram[..., s : s + width] for s in starts], dim=-3)


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
    """Per-coefficient mean and standard deviation, ``(channels, rows)``, fitted on training data only."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, spectrograms: "list[np.ndarray] | object") -> Normalizer:
        """Fit on an iterable of arrays ``(channels, rows, frames)`` (each clip's views may be
        separate items); accumulates in float64 so 14,400 clips do not lose precision."""
        total = total_sq = None
        count = 0
        for spec in spectrograms:  # type: ignore[attr-defined]
            spec = np.asarray(spec, dtype=np.float64)
            if spec.ndim != 3:
                raise ValueError(f"expected (channels, rows, frames) arrays, got shape {spec.shape}")
            if total is None:
                total = np.zeros(spec.shape[:2])
                total_sq = np.zeros(spec.shape[:2])
            elif spec.shape[:2] != total.shape:
                raise ValueError(f"spectrogram shape {spec.shape[:2]} differs from the first one's {total.shape}")
            total += spec.sum(-1)
            total_sq += np.square(spec).sum(-1)
            count += spec.shape[-1]
        if total is None or count == 0:
            raise ValueError("cannot fit a normaliser on no data")
        mean = total / count
        var = np.maximum(total_sq / count - np.square(mean), 0.0)
        # a constant coefficient (e.g. the floor of a silent band) would divide by zero
        std = np.maximum(np.sqrt(var), 1e-6)
        return cls(mean.astype(np.float32), std.astype(np.float32))

    def apply(self, spectrogram: Tensor) -> Tensor:
        """Normalise ``Tensor (..., channels, rows, frames)``."""
        mean = torch.as_tensor(self.mean, device=spectrogram.device, dtype=spectrogram.dtype)
        std = torch.as_tensor(self.std, device=spectrogram.device, dtype=spectrogram.dtype)
        return (spectrogram - mean[..., None]) / std[..., None]

    def to_dict(self) -> dict[str, list[list[float]]]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, state: dict[str, list[list[float]]]) -> Normalizer:
        try:
            mean = np.asarray(state["mean"], dtype=np.float32)
            std = np.asarray(state["std"], dtype=np.float32)
        except KeyError as err:
            raise ValueError(f"normaliser state lacks {err}") from err
        if mean.shape != std.shape or mean.ndim != 2:
            raise ValueError(f"normaliser mean {mean.shape} and std {std.shape} must both be (channels, rows)")
        return cls(mean, std)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict()))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        return cls.from_dict(json.loads(Path(path).read_text()))
