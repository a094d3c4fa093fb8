"""The paper's spectrograms in PyTorch (SPEC §2), with librosa parity.

Feature kinds (MFCC, log-mel, CQT, HPSS-MFCC) live in :mod:`stasc.features.kinds`, one module
each, and register themselves (:mod:`stasc.features.registry`). ``compute(name, waveform,
sample_rate)`` is the one-call entry point: it resamples to the analysis rate, builds the channel
views and returns ``Tensor (views, rows, frames)``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor

from stasc.audio import MonoViews, channel_views, resample
from stasc.features import kinds
from stasc.features.registry import (
    FeatureSettings,
    FeatureTransform,
    build_transform,
    feature_kinds,
    named_features,
    parse_feature,
)

__all__ = ["FeatureSettings", "FeatureTransform", "build_transform", "compute", "feature_kinds", "kinds",
           "named_features", "parse_feature"]


@functools.lru_cache(maxsize=16)
def _cached_transform(settings: FeatureSettings, device: str) -> FeatureTransform:
    return build_transform(settings).to(device)


def compute(
    feature: str | FeatureSettings | Mapping[str, Any],
    waveform: np.ndarray | Tensor,
    sample_rate: int,
    *,
    mono_views: MonoViews = 1,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Spectrograms of one recording: ``waveform (channels, samples)`` at any rate → ``(views, rows, frames)``.

    ``feature`` is a paper name (``mfcc2048``), a kind (``logmel``), a mapping (``{kind: logmel,
    n_mels: 40}``) or settings. Stereo gives the
    views left, right, mid (HPSS-MFCC: each split into harmonic and percussive); mono gives one
    view, or three equal ones with ``mono_views=3``.
    """
    settings = parse_feature(feature)
    samples = waveform.detach().cpu().numpy() if isinstance(waveform, Tensor) else np.asarray(waveform)
    if samples.ndim == 1:
        samples = samples[None]
    if samples.ndim != 2 or samples.shape[-1] == 0:
        raise ValueError(f"waveform must be (channels, samples) with samples > 0, got shape {samples.shape}")
    work_dtype = np.float64 if dtype == torch.float64 else np.float32
    samples = resample(samples.astype(work_dtype, copy=False), int(sample_rate), settings.sample_rate)
    views = channel_views(torch.from_numpy(samples), mono_views=mono_views).to(device=device, dtype=dtype)
    with torch.inference_mode():
        return _cached_transform(settings, str(torch.device(device))).forward(views)
