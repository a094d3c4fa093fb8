"""The mel front end shared by the MFCC, log-mel and HPSS-MFCC kinds: settings, transform, graph.

One transform, :class:`MelTransform`, gives librosa-parity log-mel spectrograms or, with a DCT,
MFCC. On CPU the work goes to :class:`~stasc.features.buffered_mel.BufferedLogMel` (one recording
at a time in reused buffers, the views of a recording together); on accelerators, and whenever
gradients are wanted, to the batched pure functions of :mod:`stasc.features.functional`.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from pydantic import NonNegativeFloat, PositiveFloat, model_validator
from torch import Tensor, nn

from stasc.features import functional as F
from stasc.features.buffered_mel import BufferedLogMel
from stasc.features.precision import exact_float32
from stasc.features.registry import FeatureSettings, FeatureTransform
from stasc.schema import PositiveInt


class MelSettings(FeatureSettings):
    """An STFT (periodic Hann, centred, zero-padded) → Slaney mel filters → ``power_to_db`` (ref 1)."""

    n_fft: PositiveInt = 2048
    hop_length: PositiveInt = 1024
    n_mels: PositiveInt = 128
    fmin: NonNegativeFloat = 0.0
    fmax: PositiveFloat | None = None

    @model_validator(mode="after")
    def _check_bands(self) -> MelSettings:
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length ({self.hop_length}) larger than n_fft ({self.n_fft}) skips samples")
        fmax = self.sample_rate / 2 if self.fmax is None else self.fmax
        if not self.fmin < fmax <= self.sample_rate / 2:
            raise ValueError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={self.fmin}, fmax={self.fmax} "
                             f"at {self.sample_rate} Hz")
        return self

    @property
    def n_rows(self) -> int:
        return self.n_mels

    @property
    def min_samples(self) -> int:
        return self.n_fft


class CepstralSettings(MelSettings):
    """Mel settings plus the number of DCT coefficients kept (MFCC, HPSS-MFCC)."""

    n_mfcc: PositiveInt = 128
    rows_are_frequencies: ClassVar[bool] = False  # cepstral coefficients

    @model_validator(mode="after")
    def _check_coefficients(self) -> CepstralSettings:
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) cannot exceed n_mels ({self.n_mels})")
        return self

    @property
    def n_rows(self) -> int:
        return self.n_mfcc


class MelTransform(FeatureTransform):
    """Log-mel rows (``n_dct = None``) or their first ``n_dct`` orthonormal DCT-II coefficients (MFCC)."""

    settings_class: ClassVar[type[FeatureSettings]] = MelSettings
    mel_basis: Tensor
    dct_basis: Tensor | None
    window: Tensor

    def __init__(self, settings: FeatureSettings, *, chunk_size: int | None = None, n_dct: int | None = None) -> None:
        super().__init__(settings, chunk_size=chunk_size)
        assert isinstance(settings, MelSettings)  # checked by the base class
        mel = F.mel_filterbank(settings.sample_rate, settings.n_fft, n_mels=settings.n_mels, fmin=settings.fmin,
                               fmax=settings.fmax)
        dct = None if n_dct is None else F.dct_matrix(n_dct, settings.n_mels)
        window = F.hann_window(settings.n_fft)
        self.register_buffer("mel_basis", torch.from_numpy(mel), persistent=False)
        self.register_buffer("dct_basis", None if dct is None else torch.from_numpy(dct), persistent=False)
        self.register_buffer("window", window, persistent=False)
        self._cpu = BufferedLogMel(n_fft=settings.n_fft, hop_length=settings.hop_length, window=window,
                                   mel_basis=mel, dct_basis=dct, top_db=settings.top_db)

    def forward(self, views: Tensor) -> Tensor:
        """``Tensor (..., V, samples)`` → ``(..., V, rows, frames)``."""
        if views.ndim < 2 or self._batched(views):
            return super().forward(views)
        out = self._cpu(views.reshape(-1, *views.shape[-2:]))
        return out.reshape(*views.shape[:-1], *out.shape[-2:])

    @staticmethod
    def _batched(signals: Tensor) -> bool:
        return signals.device.type != "cpu" or (torch.is_grad_enabled() and signals.requires_grad)

    def rows(self, signals: Tensor) -> Tensor:
        """``Tensor (N, samples)`` → ``(N, rows, frames)``."""
        if not self._batched(signals):
            return self._cpu(signals[:, None])[:, 0]
        settings = self.settings
        assert isinstance(settings, MelSettings)
        with exact_float32():
            db = F.log_mel(signals, n_fft=settings.n_fft, hop_length=settings.hop_length,
                           mel_basis=self.mel_basis.to(signals.dtype), top_db=settings.top_db,
                           window=self.window.to(signals.dtype))
            return db if self.dct_basis is None else torch.matmul(self.dct_basis.to(signals.dtype), db)

    def signals(self, signals: Tensor) -> Tensor:
        return self.rows(signals).unsqueeze(1)

    def graph(self) -> nn.Module | None:
        return MelGraph(self)

    def gain_response(self) -> Tensor:
        # +1 dB on every band; the DCT of a constant is all in c0 (sqrt(n_mels) for the ortho DCT)
        ones = torch.ones(self.mel_basis.shape[0], dtype=torch.float64)
        response = ones if self.dct_basis is None else self.dct_basis @ ones
        return response.float()


class MelGraph(nn.Module):
    """:class:`MelTransform` of ``Tensor (V, samples)`` with ops every exporter knows: centred frames →
    float64 DFT as two matmuls (window folded in) → power → mel matmul → dB → top_db floor (→ DCT)."""

    dft_cos: Tensor
    dft_sin: Tensor
    mel_basis: Tensor
    dct_basis: Tensor | None

    def __init__(self, transform: MelTransform) -> None:
        super().__init__()
        settings = transform.settings
        assert isinstance(settings, MelSettings)
        self.n_fft, self.hop_length, self.top_db = settings.n_fft, settings.hop_length, settings.top_db
        n_bins = self.n_fft // 2 + 1
        angle = 2 * np.pi * np.outer(np.arange(self.n_fft), np.arange(n_bins)) / self.n_fft
        window = transform.window.double().numpy()[:, None]
        self.register_buffer("dft_cos", torch.from_numpy(np.cos(angle) * window))  # N, F
        self.register_buffer("dft_sin", torch.from_numpy(-np.sin(angle) * window))
        self.register_buffer("mel_basis", transform.mel_basis.double().clone())
        self.register_buffer("dct_basis", None if transform.dct_basis is None else transform.dct_basis.double().clone())

    def forward(self, waveform: Tensor) -> Tensor:
        frames = F.centred_frames(waveform.double(), n_fft=self.n_fft, hop_length=self.hop_length)  # V, T, N
        power = torch.matmul(frames, self.dft_cos).square() + torch.matmul(frames, self.dft_sin).square()  # V, T, F
        db = F.power_to_db(torch.matmul(self.mel_basis, power.transpose(-1, -2)), top_db=self.top_db)  # V, M, T
        out = db if self.dct_basis is None else torch.matmul(self.dct_basis, db)
        return out.float()
