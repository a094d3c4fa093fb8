"""The one front end: channel views → spectrograms → clip normalisation → normaliser → patches →
resize → channel stacking (SPEC §2). Training, prediction, export and explain all run it.

Dimension letters: W windows (or clips), V views, V' views after the transform (HPSS doubles
them), R rows, T frames, P patches per view, C stacked features (channels), H × Wd the patch size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import torch
from torch import Tensor, nn

from stasc.config import InputConfig
from stasc.features.patches import (
    Normalizer,
    apply_clip_statistics,
    clip_normalize,
    cut_patches,
    pad_to_width,
    resize_patches,
    sound_shares,
)
from stasc.features.registry import FeatureTransform, build_transform


class FrontEnd(nn.Module):
    """The input pipeline of one trained model: its features' transforms and normalisers.

    ``forward(views (W, V, samples))`` → network input ``(W, V'·P, C, H, Wd)``; the same steps are
    callable one by one (:meth:`spectrograms`, :meth:`normalized`, :meth:`patches`) for explain and
    export, and :meth:`cached_patch` cuts one training patch from cached spectrograms.
    """

    def __init__(self, config: InputConfig, normalizers: Sequence[Normalizer]) -> None:
        super().__init__()
        if len(normalizers) != len(config.features):
            raise ValueError(f"{len(normalizers)} normalisers for {len(config.features)} features")
        for spec, normalizer in zip(config.features, normalizers):
            if normalizer.mean.shape[0] != spec.n_rows:
                raise ValueError(f"a normaliser of {normalizer.mean.shape[0]} rows for {spec.label} "
                                 f"({spec.n_rows} rows)")
        self.config = config
        self.transforms = nn.ModuleList([build_transform(spec) for spec in config.features])
        for c, normalizer in enumerate(normalizers):
            self.register_buffer(f"mean_{c}", torch.from_numpy(normalizer.mean)[:, None])  # R, 1
            self.register_buffer(f"std_{c}", torch.from_numpy(normalizer.std)[:, None])

    @property
    def n_features(self) -> int:
        return len(self.transforms)

    def feature_transforms(self) -> list[FeatureTransform]:
        """The transform of every feature, in order."""
        return [cast(FeatureTransform, t) for t in self.transforms]

    def spectrograms(self, views: Tensor) -> list[Tensor]:
        """``views (..., V, samples)`` → one ``(..., V', R, T)`` per feature."""
        return [transform(views) for transform in self.feature_transforms()]

    def normalize(self, feature: int, spectrogram: Tensor) -> Tensor:
        """Feature ``feature``'s training-set normalisation of ``Tensor (..., R, T)``."""
        mean, std = getattr(self, f"mean_{feature}"), getattr(self, f"std_{feature}")
        return (spectrogram - mean.to(spectrogram.dtype)) / std.to(spectrogram.dtype)

    def normalized(self, spectrograms: Sequence[Tensor]) -> list[Tensor]:
        """Clip normalisation over the frames given (a window at prediction time), then the normaliser."""
        return [self.normalize(c, clip_normalize(s, self.config.clip_norm)) for c, s in enumerate(spectrograms)]

    def patches(self, normalized: Sequence[Tensor]) -> Tensor:
        """``(W, V', R, T)`` per feature → ``(W, V'·P, C, H, Wd)``: cut (padded when short), resized, stacked."""
        stacked = []
        for spectrogram in normalized:
            # W, V', P, R, w
            cut = cut_patches(spectrogram, width=self.config.patch_width, shift=self.config.patch_shift,
                              pad=self.config.short_clip_pad)
            stacked.append(resize_patches(cut, self.config.patch_size).flatten(1, 2))  # W, V'·P, H, Wd
        return torch.stack(stacked, dim=2)

    def patch_weights(self, spectrograms: Sequence[Tensor], mode: str) -> Tensor | None:
        """``model.patch_weights`` of the patches :meth:`patches` cuts from ``spectrograms`` (as :meth:`spectrograms`
        gives them, before any normalisation) → ``(W, V'·P)``: each patch's share of frames above the first feature's
        dB floor under ``"sound"``; None (an equal mean) under ``"equal"``."""
        if mode == "equal":
            return None
        if mode != "sound":
            raise ValueError(f"patch weights must be 'equal' or 'sound', got {mode!r}")
        shares = sound_shares(spectrograms[0], top_db=self.feature_transforms()[0].settings.top_db,
                              width=self.config.patch_width, shift=self.config.patch_shift,
                              pad=self.config.short_clip_pad)
        return shares.flatten(1, 2)  # W, V'·P: the order patches() stacks them in

    def forward(self, views: Tensor) -> Tensor:
        """``views (W, V, samples)`` → ``(W, V'·P, C, H, Wd)``."""
        return self.patches(self.normalized(self.spectrograms(views)))

    def gain_directions(self) -> Tensor:
        """``(C, H, 1)``: how each row of a network input moves when the audio is 1 dB louder (each
        feature's :meth:`~stasc.features.registry.FeatureTransform.gain_response`, normalised and resized)."""
        return self._input_directions([t.gain_response() for t in self.feature_transforms()])

    def band_directions(self) -> Tensor:
        """``(C, H, 1)``: how each row of a network input moves when its own frequency band is 1 dB louder
        (each feature's :meth:`~stasc.features.registry.FeatureTransform.band_response`, normalised and resized);
        what the random equaliser scales."""
        return self._input_directions([t.band_response() for t in self.feature_transforms()])

    def _input_directions(self, responses: Sequence[Tensor]) -> Tensor:
        """Each feature's per-row response ``(R,)`` in its own units as a network input ``(C, H, 1)``."""
        height = self.config.patch_size[0]
        return torch.stack([resize_patches(self.normalize_scale(c, response[:, None]), (height, 1))
                            for c, response in enumerate(responses)])

    def normalize_scale(self, feature: int, offset: Tensor) -> Tensor:
        """An offset ``(R, 1)`` in the feature's units as the normaliser maps it (divided by the row std)."""
        return offset / getattr(self, f"std_{feature}").to(offset.dtype).cpu()

    def cached_patch(self, windows: Sequence[np.ndarray],
                     clip_statistics: Sequence[tuple[np.ndarray, np.ndarray]] | None) -> Tensor:
        """One training patch ``(C, H, Wd)`` from each feature's cached window ``(R, ≤ width)``;
        ``clip_statistics`` are the whole view's ``(shift (R, 1), scale (1, 1))`` of
        :func:`~stasc.features.patches.clip_statistics` when ``clip_norm`` is not ``none`` (a training clip is
        normalised over all of itself, as a prediction window is)."""
        channels = []
        for c, window in enumerate(windows):
            patch = torch.from_numpy(np.array(window, dtype=np.float32))  # a copy: the cache is read-only
            if clip_statistics is not None:
                shift, scale = clip_statistics[c]
                patch = apply_clip_statistics(patch, torch.from_numpy(shift), torch.from_numpy(scale),
                                              self.config.clip_norm)
            patch = pad_to_width(self.normalize(c, patch), self.config.patch_width, self.config.short_clip_pad)
            channels.append(resize_patches(patch, self.config.patch_size))
        return torch.stack(channels)
