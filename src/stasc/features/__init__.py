"""The paper's spectrograms in PyTorch (SPEC §2), with librosa parity.

``compute(name, waveform, sample_rate)`` is the one-call entry point: it resamples to the
analysis rate, builds the channel views and returns ``Tensor (views, rows, frames)``.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import Tensor, nn

from stasc.audio import MonoViews, channel_views, resample
from stasc.features.spec import NAMED_FEATURES, FeatureSpec
from stasc.features.transforms import build_transform

__all__ = ["NAMED_FEATURES", "FeatureSpec", "build_transform", "compute", "resolve"]


def resolve(feature: str | FeatureSpec) -> FeatureSpec:
    """A spec from a name of ``NAMED_FEATURES`` or a spec itself."""
    return feature if isinstance(feature, FeatureSpec) else FeatureSpec.named(feature)


@functools.lru_cache(maxsize=16)
def _cached_transform(spec: FeatureSpec, device: str) -> nn.Module:
    return build_transform(spec).to(device)


def compute(
    name: str | FeatureSpec,
    waveform: np.ndarray | Tensor,
    sample_rate: int,
    *,
    mono_views: MonoViews = 1,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Spectrograms of one recording: ``waveform (channels, samples)`` at any rate → ``(views, rows, frames)``.

    Stereo gives the views left, right, mid (HPSS-MFCC: each split into harmonic and percussive);
    mono gives one view, or three equal ones with ``mono_views=3``.
    """
    spec = resolve(name)
    samples = waveform.detach().cpu().numpy() if isinstance(waveform, Tensor) else np.asarray(waveform)
    if samples.ndim == 1:
        samples = samples[None]
    if samples.ndim != 2 or samples.shape[-1] == 0:
        raise ValueError(f"waveform must be (channels, samples) with samples > 0, got shape {samples.shape}")
    work_dtype = np.float64 if dtype == torch.float64 else np.float32
    samples = resample(samples.astype(work_dtype, copy=False), int(sample_rate), spec.sample_rate)
    views = channel_views(torch.from_numpy(samples), mono_views=mono_views).to(device=device, dtype=dtype)
    with torch.inference_mode():
        return _cached_transform(spec, str(torch.device(device))).forward(views)
