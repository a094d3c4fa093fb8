"""``hpss_mfcc``: MFCC of the harmonic and of the percussive part of every view (SPEC §2), and the
paper's ``hpss_mfcc2048``."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch
from pydantic import PositiveFloat, field_validator
from torch import Tensor

from stasc.features.hpss import hpss
from stasc.features.mel import CepstralSettings, MelTransform
from stasc.features.registry import FeatureSettings, FeatureTransform, register_feature
from stasc.schema import PositiveInt


class HPSSMFCCSettings(CepstralSettings):
    """``librosa.effects.hpss(kernel_size=hpss_kernel, margin=hpss_margin)`` with its own STFT
    (``hpss_n_fft``, ``hpss_hop_length``), then the MFCC of each part: two views per view."""

    kind: Literal["hpss_mfcc"] = "hpss_mfcc"
    hpss_kernel: PositiveInt = 31
    hpss_margin: PositiveFloat = 1.0
    hpss_n_fft: PositiveInt = 2048
    hpss_hop_length: PositiveInt = 512

    @field_validator("hpss_kernel")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"hpss_kernel must be a positive odd integer, got {value}")
        return value

    @field_validator("hpss_margin")
    @classmethod
    def _margin(cls, value: float) -> float:
        if value < 1:
            raise ValueError(f"hpss_margin must be >= 1 (librosa's minimum), got {value}")
        return value

    @property
    def min_samples(self) -> int:
        return max(self.n_fft, self.hpss_n_fft)


class HPSSMFCC(FeatureTransform):
    """Views L-h, L-p, R-h, R-p, mid-h, mid-p: the MFCC of each view's harmonic and percussive part."""

    settings_class: ClassVar[type[FeatureSettings]] = HPSSMFCCSettings
    views_per_view: ClassVar[int] = 2

    def __init__(self, settings: FeatureSettings, *, chunk_size: int | None = None) -> None:
        super().__init__(settings, chunk_size=chunk_size)
        assert isinstance(settings, HPSSMFCCSettings)
        self.mfcc = MelTransform(settings, n_dct=settings.n_mfcc)

    def signals(self, signals: Tensor) -> Tensor:
        settings = self.settings
        assert isinstance(settings, HPSSMFCCSettings)
        harmonic, percussive = hpss(signals, n_fft=settings.hpss_n_fft, hop_length=settings.hpss_hop_length,
                                    kernel_size=settings.hpss_kernel, margin=settings.hpss_margin)
        parts = torch.stack([harmonic, percussive], dim=1)  # N, 2, samples
        coefficients = self.mfcc.rows(parts.reshape(-1, parts.shape[-1]))
        return coefficients.reshape(signals.shape[0], 2, *coefficients.shape[-2:])

    def gain_response(self) -> Tensor:
        # the soft masks do not change with the input's scale: each part is as much louder as the input
        return self.mfcc.gain_response()


register_feature(HPSSMFCC, named={"hpss_mfcc2048": HPSSMFCCSettings(sample_rate=44100, n_fft=2048, hop_length=1024)})
