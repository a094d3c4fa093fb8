"""Augmentation of training patches (not in the paper, off in its presets): random time shift, contrast, a noise
floor, gain, a random equaliser (FilterAugment, Nam et al. 2022), frequency warping (vocal tract length perturbation,
Jaitly & Hinton 2013), time stretching (tempo perturbation, as SpecAugment's time warp and Ko et al.
2015's speed perturbation) and frequency/time masking (SpecAugment, Park et al. 2019).
Mixup is :mod:`stasc.training.mixup`.

Each draws per patch from the training module's seeded generator, so a run is reproducible; the
training module applies them only in training steps, never to validation, test or prediction.
Dimension letters: B patches, C channels (stacked features), H rows, W frames.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from stasc.config import AugmentConfig
from stasc.features.warp import warp_source


def _to_device(values: Tensor, like: Tensor) -> Tensor:
    """``values`` on ``like``'s device; from pinned memory on CUDA, so the copy does not wait for the GPU."""
    if not like.is_cuda:
        return values
    return values.pin_memory().to(like.device, non_blocking=True)


def _band_mask(rng: np.random.Generator, n_patches: int, n_masks: int, max_width: int, size: int) -> np.ndarray:
    """``(n_patches, size)`` booleans: True inside any of the patch's ``n_masks`` random bands."""
    max_width = min(max_width, size)
    widths = rng.integers(0, max_width + 1, size=(n_patches, n_masks))
    starts = (rng.random((n_patches, n_masks)) * (size - widths + 1)).astype(np.int64)
    index = np.arange(size)
    inside = (index >= starts[..., None]) & (index < (starts + widths)[..., None])  # B, masks, size
    return np.asarray(inside.any(axis=1))


def mask_patches(
    patches: Tensor, *, freq_masks: int, freq_max_width: int, time_masks: int, time_max_width: int,
    rng: np.random.Generator,
) -> Tensor:
    """``patches (B, C, H, W)`` with random row bands and frame spans set to 0, the training mean of
    the normalised features (all channels alike)."""
    n, _, rows, frames = patches.shape
    keep = torch.ones(n, 1, rows, frames, dtype=torch.bool)
    if freq_masks > 0 and freq_max_width > 0:
        keep &= ~torch.from_numpy(_band_mask(rng, n, freq_masks, freq_max_width, rows))[:, None, :, None]
    if time_masks > 0 and time_max_width > 0:
        keep &= ~torch.from_numpy(_band_mask(rng, n, time_masks, time_max_width, frames))[:, None, None, :]
    return patches * _to_device(keep, patches).to(patches.dtype)


def shift_patches(patches: Tensor, *, max_shift: int, rng: np.random.Generator) -> Tensor:
    """Roll each patch along time by its own whole number of frames in ``[-max_shift, max_shift]``."""
    n, _, _, frames = patches.shape
    shifts = rng.integers(-max_shift, max_shift + 1, size=n)
    source = (np.arange(frames)[None] - shifts[:, None]) % frames  # B, W: output frame t ← input frame t − shift
    index = _to_device(torch.from_numpy(source), patches)
    return torch.gather(patches, 3, index[:, None, None, :].expand_as(patches))


def contrast_patches(patches: Tensor, *, max_change: float, rng: np.random.Generator) -> Tensor:
    """Scale each patch about 0 (the normalised features' training mean) by its own factor in ``[1 - max_change,
    1 + max_change]``: the same sound with its dynamic range in dB widened or narrowed."""
    factors = torch.from_numpy(rng.uniform(1 - max_change, 1 + max_change, size=patches.shape[0]).astype(np.float32))
    return patches * _to_device(factors, patches).to(patches.dtype)[:, None, None, None]


def noise_patches(patches: Tensor, *, snr_db: tuple[float, float], directions: Tensor,
                  rng: np.random.Generator) -> Tensor:
    """Add to each patch stationary noise of its own long-term spectrum (each row's mean power over its frames) at a
    signal-to-noise ratio drawn uniformly in ``snr_db`` per patch: every row's power becomes ``p + mean(p) · 10^(-snr /
    10)``, so its quiet frames rise to the floor and its loud ones barely move. ``directions (C, H, 1)`` is how a
    network input row moves per dB of its band (:meth:`FrontEnd.band_directions`); rows where it is 0 (not dB: PCEN)
    are left as they are."""
    snr = torch.from_numpy(rng.uniform(*snr_db, size=patches.shape[0]).astype(np.float32))
    snr = _to_device(snr, patches)[:, None, None, None]
    per_db = directions.to(patches.device, torch.float32)[None]  # 1, C, H, 1
    banded = per_db != 0
    values = patches.float()
    nepers = values / torch.where(banded, per_db, 1.0) * (np.log(10.0) / 10)  # dB as the natural log of power
    floor = torch.logsumexp(nepers, dim=3, keepdim=True) - np.log(patches.shape[3]) - snr * (np.log(10.0) / 10)
    noisy = torch.logaddexp(nepers, floor) * (10 / np.log(10.0)) * per_db  # B, C, H, W (the floor broadcast over W)
    return torch.where(banded, noisy, values).to(patches.dtype)


def gain_patches(patches: Tensor, *, max_db: float, directions: Tensor, rng: np.random.Generator) -> Tensor:
    """Add ``g · directions`` to each patch, ``g`` uniform in ``[-max_db, max_db]`` dB per patch;
    ``directions (C, H, 1)`` is how a network input moves per dB (:meth:`FrontEnd.gain_directions`)."""
    gains = torch.from_numpy(rng.uniform(-max_db, max_db, size=patches.shape[0]).astype(np.float32))
    gains = _to_device(gains, patches).to(patches.dtype)
    return patches + gains[:, None, None, None] * directions.to(patches.device, patches.dtype)[None]


def filter_patches(patches: Tensor, *, max_db: float, points: int, directions: Tensor,
                   rng: np.random.Generator) -> Tensor:
    """Colour each patch's spectrum with its own random equaliser: gains uniform in ``[-max_db, max_db]`` dB at
    ``points`` frequencies (the lowest and the highest row and ``points - 2`` uniformly drawn rows between),
    linearly interpolated over the rows; ``directions (C, H, 1)`` is how a network input row moves per dB of its
    band (:meth:`FrontEnd.band_directions`)."""
    n, _, rows, _ = patches.shape
    inner = np.sort(rng.uniform(0, rows - 1, size=(n, points - 2)), axis=1)
    where = np.concatenate([np.zeros((n, 1)), inner, np.full((n, 1), rows - 1.0)], axis=1)
    gains = rng.uniform(-max_db, max_db, size=(n, points))
    curves = np.stack([np.interp(np.arange(rows), x, g) for x, g in zip(where, gains)]).astype(np.float32)  # B, H
    curve = _to_device(torch.from_numpy(curves), patches).to(patches.dtype)
    return patches + curve[:, None, :, None] * directions.to(patches.device, patches.dtype)[None]


def _resample_axis(patches: Tensor, source: np.ndarray, axis: int) -> Tensor:
    """``patches`` with position ``i`` along ``axis`` (2: rows, 3: frames) read at the fractional
    ``source[b, i]`` of its patch ``b``, linearly interpolated."""
    size = patches.shape[axis]
    below = np.floor(source).astype(np.int64)
    above = np.minimum(below + 1, size - 1)
    shape = [patches.shape[0], 1, 1, 1]
    shape[axis] = size
    weight = _to_device(torch.from_numpy((source - below).astype(np.float32)), patches).to(patches.dtype)

    def at(index: np.ndarray) -> Tensor:
        return torch.gather(patches, axis, _to_device(torch.from_numpy(index), patches).reshape(shape)
                            .expand_as(patches))

    weight = weight.reshape(shape)
    return at(below) * (1 - weight) + at(above) * weight


def warp_patches(patches: Tensor, *, max_warp: float, rng: np.random.Generator) -> Tensor:
    """Warp each patch's rows (:mod:`stasc.features.warp`) by its own factor in ``[1 - max_warp, 1 + max_warp]``."""
    n, _, rows, _ = patches.shape
    factors = rng.uniform(1 - max_warp, 1 + max_warp, size=n)
    return _resample_axis(patches, warp_source(rows, factors), axis=2)  # B, H: output row r ← input r / factor


def stretch_patches(patches: Tensor, *, max_stretch: float, rng: np.random.Generator) -> Tensor:
    """Slow down (factor > 1) or speed up each patch by its own factor in ``[1 - max_stretch,
    1 + max_stretch]`` about its middle frame, linearly interpolated; frames that would come from
    outside the patch take its first or last frame."""
    n, _, _, frames = patches.shape
    factors = rng.uniform(1 - max_stretch, 1 + max_stretch, size=n)
    middle = (frames - 1) / 2
    # B, W: output frame t ← input frame middle + (t − middle) / factor
    source = np.clip(middle + (np.arange(frames)[None] - middle) / factors[:, None], 0, frames - 1)
    return _resample_axis(patches, source, axis=3)


def augment(patches: Tensor, config: AugmentConfig, *, gain_directions: Tensor, rng: np.random.Generator,
            band_directions: Tensor | None = None) -> Tensor:
    """Every augmentation ``config`` turns on, in the order shift → contrast → noise → gain → equaliser → warp → stretch
    → masks (a mask stays at the mean). ``band_directions`` is needed when the noise or the equaliser is on."""
    if patches.ndim != 4:
        raise ValueError(f"expected patches (B, C, H, W), got shape {tuple(patches.shape)}")
    if config.time_shift > 0:
        patches = shift_patches(patches, max_shift=config.time_shift, rng=rng)
    if config.contrast > 0:  # before the gain and equaliser, whose offsets it would scale too
        patches = contrast_patches(patches, max_change=config.contrast, rng=rng)
    if config.noise_snr_db is not None:  # in the room, before the microphone's gain and colouring
        if band_directions is None:
            raise ValueError("augment.noise_snr_db needs the front end's band directions")
        patches = noise_patches(patches, snr_db=config.noise_snr_db, directions=band_directions, rng=rng)
    if config.gain_db > 0:
        patches = gain_patches(patches, max_db=config.gain_db, directions=gain_directions, rng=rng)
    if config.filter_db > 0:
        if band_directions is None:
            raise ValueError("augment.filter_db needs the front end's band directions")
        patches = filter_patches(patches, max_db=config.filter_db, points=config.filter_points,
                                 directions=band_directions, rng=rng)
    if config.freq_warp > 0:
        patches = warp_patches(patches, max_warp=config.freq_warp, rng=rng)
    if config.time_stretch > 0:
        patches = stretch_patches(patches, max_stretch=config.time_stretch, rng=rng)
    if (config.freq_masks and config.freq_max_width) or (config.time_masks and config.time_max_width):
        patches = mask_patches(patches, freq_masks=config.freq_masks, freq_max_width=config.freq_max_width,
                               time_masks=config.time_masks, time_max_width=config.time_max_width, rng=rng)
    return patches
