"""Pure, stateless spectral functions matching librosa 0.11 (the reference implementation).

Every function maps ``Tensor (..., samples)`` or ``(..., freq, frames)`` and runs on the device
and dtype of its input. The defaults pinned here are librosa's: centred frames with zero
('constant') padding, a periodic Hann window, the Slaney mel scale and norm, ``power_to_db``
with ``ref=1, amin=1e-10, top_db=80`` and an orthonormal DCT-II.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor


def frame_count(n_samples: int, hop_length: int) -> int:
    """Frames of a centred STFT (librosa ``center=True``): ``1 + n_samples // hop_length``."""
    return 1 + n_samples // hop_length


def frame(padded: Tensor, *, n_fft: int, hop_length: int) -> Tensor:
    """Frames of an already centre-padded ``Tensor (..., n + 2·(n_fft // 2))`` as a view
    ``(..., frame_count(n, hop_length), n_fft)``: frame t starts at sample ``t · hop_length``."""
    return padded.unfold(-1, n_fft, hop_length)


def centred_frames(waveform: Tensor, *, n_fft: int, hop_length: int) -> Tensor:
    """librosa's ``center=True, pad_mode='constant'`` frames of ``Tensor (..., samples)`` →
    ``(..., frames, n_fft)``: zero-padded by ``n_fft // 2`` on both sides, then :func:`frame`.

    Framing by hand (pad → unfold → window → rfft) is ~1.5x faster than torch.stft on CPU."""
    padded = torch.nn.functional.pad(waveform, (n_fft // 2, n_fft // 2))
    return frame(padded, n_fft=n_fft, hop_length=hop_length)


def hann_window(n_fft: int, *, dtype: torch.dtype = torch.float64, device: torch.device | str | None = None) -> Tensor:
    """The periodic Hann window of librosa's ``window='hann'``."""
    return torch.hann_window(n_fft, periodic=True, dtype=dtype, device=device)


def stft(waveform: Tensor, *, n_fft: int, hop_length: int, window: Tensor) -> Tensor:
    """Centred, zero-padded STFT of ``Tensor (..., samples)`` → complex ``(..., frames, n_fft // 2 + 1)``
    (frames before bins)."""
    if window.shape[-1] != n_fft:
        raise ValueError(f"window has {window.shape[-1]} samples, expected n_fft={n_fft}")
    return torch.fft.rfft(centred_frames(waveform, n_fft=n_fft, hop_length=hop_length) * window)


def stft_power(waveform: Tensor, *, n_fft: int, hop_length: int, window: Tensor | None = None) -> Tensor:
    """Power spectrogram ``|STFT|²`` of ``Tensor (..., samples)`` → ``(..., n_fft // 2 + 1, frames)``.

    Matches ``np.abs(librosa.stft(y, n_fft, hop_length, window='hann', center=True,
    pad_mode='constant')) ** 2``.
    """
    if window is None:
        window = hann_window(n_fft, dtype=waveform.dtype, device=waveform.device)
    spec = stft(waveform, n_fft=n_fft, hop_length=hop_length, window=window)  # ..., T, F
    power = spec.real.square() + spec.imag.square()
    return power.transpose(-1, -2)  # ..., F, T


def _hz_to_mel(freq: np.ndarray) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above (librosa ``htk=False``)."""
    f_sp = 200.0 / 3
    mels = freq / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    log_region = freq >= min_log_hz
    mels = np.where(log_region, min_log_mel + np.log(np.maximum(freq, 1e-12) / min_log_hz) / logstep, mels)
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = math.log(6.4) / 27.0
    return np.where(mels >= min_log_mel, min_log_hz * np.exp(logstep * (mels - min_log_mel)), freqs)


def mel_filterbank(
    sample_rate: int, n_fft: int, *, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None
) -> np.ndarray:
    """Slaney-normalised triangular mel filters, float64 ``(n_mels, n_fft // 2 + 1)``.

    Same construction as ``librosa.filters.mel(htk=False, norm='slaney')``.
    """
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    if not 0.0 <= fmin < fmax <= sample_rate / 2.0:
        raise ValueError(f"need 0 <= fmin < fmax <= sample_rate/2, got fmin={fmin}, fmax={fmax}, sr={sample_rate}")
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_points = np.linspace(_hz_to_mel(np.array(fmin)), _hz_to_mel(np.array(fmax)), n_mels + 2)
    mel_freqs = _mel_to_hz(mel_points)
    fdiff = np.diff(mel_freqs)
    ramps = mel_freqs[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_freqs[2 : n_mels + 2] - mel_freqs[:n_mels])
    return weights * enorm[:, None]


def power_to_db(power: Tensor, *, amin: float = 1e-10, top_db: float | None = 80.0) -> Tensor:
    """``10·log10(max(power, amin))`` with ref 1, floored ``top_db`` below the maximum.

    The maximum is taken over the last two dims (each spectrogram on its own), as librosa does
    when called on one clip and one view.
    """
    db = 10.0 * torch.log10(torch.clamp(power, min=amin))
    if top_db is not None:
        if top_db < 0:
            raise ValueError(f"top_db must be non-negative, got {top_db}")
        peak = db.amax(dim=(-2, -1), keepdim=True)
        db = torch.maximum(db, peak - top_db)
    return db


def dct_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Orthonormal DCT-II as a float64 matrix ``(n_out, n_in)`` (scipy ``dct(type=2, norm='ortho')``)."""
    if n_out > n_in:
        raise ValueError(f"cannot keep {n_out} DCT coefficients from {n_in} bands")
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * math.sqrt(2.0 / n_in)
    basis[0] /= math.sqrt(2.0)
    return basis


def mfcc(
    waveform: Tensor,
    *,
    n_fft: int,
    hop_length: int,
    mel_basis: Tensor,
    dct_basis: Tensor,
    top_db: float | None = 80.0,
    window: Tensor | None = None,
) -> Tensor:
    """MFCC of ``Tensor (..., samples)`` → ``(..., n_mfcc, frames)`` like ``librosa.feature.mfcc``.

    ``mel_basis`` is ``(n_mels, n_fft // 2 + 1)`` from :func:`mel_filterbank`, ``dct_basis``
    ``(n_mfcc, n_mels)`` from :func:`dct_matrix`, both in the waveform's dtype
    and device. The dB floor is taken per spectrogram (each clip and view on its own).
    """
    return torch.matmul(dct_basis, log_mel(waveform, n_fft=n_fft, hop_length=hop_length, mel_basis=mel_basis,
                                           top_db=top_db, window=window))


def log_mel(
    waveform: Tensor, *, n_fft: int, hop_length: int, mel_basis: Tensor, top_db: float | None = 80.0,
    window: Tensor | None = None,
) -> Tensor:
    """Log-mel spectrogram ``(..., n_mels, frames)``: ``power_to_db(melspectrogram)`` as librosa."""
    power = stft_power(waveform, n_fft=n_fft, hop_length=hop_length, window=window)
    return power_to_db(torch.matmul(mel_basis, power), top_db=top_db)
