"""Constant-Q transform with librosa parity, batched in PyTorch.

librosa's ``cqt`` (the reference, SPEC §2) works octave by octave: the top octave's 12 filters
are applied at the full rate through an STFT with a rectangular window, then the signal is
halved in rate (soxr, scaled by √2) and the hop halved, for the next octave down, and so on.
This module does the same steps with the same filters, so its output matches librosa to float
rounding, but it precomputes the filters once (librosa rebuilds them on every call), turns each
octave's sparsified filter spectra back into time-domain kernels, and runs every clip and view of
an octave through one strided ``conv1d`` (on the GPU when the input is there); nothing depends on
the signal length, so there is no per-length cache.

Halving the rate: with soxr (``resampler='soxr'``, the default), exactly as librosa does, on the
CPU whatever the device of the signal (the same numbers everywhere); or with a windowed sinc
half-band filter in PyTorch (:func:`halve_rate_sinc`, ``resampler='sinc'``) that stays on the
device, whose CQT stays within the parity bounds (tests/features/test_cqt.py measures it).
Convolutions run in full float32 (:func:`~stasc.features.precision.exact_float32`), never TF32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import soxr
import torch
import torch.nn.functional as F
from scipy.signal import get_window
from torch import Tensor, nn

from stasc.features.precision import exact_float32

C1_HZ = 32.70319566257483  # librosa.note_to_hz("C1"), librosa's default fmin
HANN_BANDWIDTH = 1.50018310546875  # librosa.filters.window_bandwidth("hann")


def _relative_bandwidth(freqs: np.ndarray) -> np.ndarray:
    """librosa.filters._relative_bandwidth: each bin's bandwidth relative to its frequency."""
    logf = np.log2(freqs)
    bpo = np.empty_like(freqs)
    bpo[0] = 1 / (logf[1] - logf[0])
    bpo[-1] = 1 / (logf[-1] - logf[-2])
    bpo[1:-1] = 2 / (logf[2:] - logf[:-2])
    return (2.0 ** (2 / bpo) - 1) / (2.0 ** (2 / bpo) + 1)


def _wavelet_filters(
    freqs: np.ndarray, alpha: np.ndarray, sample_rate: float, filter_scale: float
) -> tuple[np.ndarray, np.ndarray]:
    """librosa.filters.wavelet (Hann-windowed complex exponentials, L1-normalised, centred in a
    power-of-two frame) → ``(filters (bins, n), lengths (bins,))``."""
    q = filter_scale / alpha
    lengths = q * sample_rate / freqs
    filters = []
    for length, freq in zip(lengths, freqs):
        n = np.arange(-length // 2, length // 2, dtype=float)
        sig = np.exp(1j * n * 2 * np.pi * freq / sample_rate)
        window = get_window("hann", int(np.floor(len(sig))))
        sig = sig * window
        sig = sig / np.sum(np.abs(sig))
        filters.append(sig)
    size = int(2.0 ** np.ceil(np.log2(lengths.max())))
    padded = np.zeros((len(freqs), size), dtype=np.complex128)
    for row, sig in enumerate(filters):
        left = (size - len(sig)) // 2
        padded[row, left : left + len(sig)] = sig
    return padded, lengths


def _sparsify_rows(x: np.ndarray, quantile: float) -> np.ndarray:
    """librosa.util.sparsify_rows as a dense array: per row, zero the smallest magnitudes that
    together hold less than ``quantile`` of the row's L1 mass."""
    mags = np.abs(x)
    norms = mags.sum(axis=1, keepdims=True)
    mag_sort = np.sort(mags, axis=1)
    cumulative = np.cumsum(mag_sort / norms, axis=1)
    threshold_idx = np.argmin(cumulative < quantile, axis=1)
    keep = mags >= mag_sort[np.arange(len(x)), threshold_idx][:, None]
    return np.where(keep, x, 0)


@dataclass(frozen=True)
class Octave:
    """One octave of the plan: its rate and hop, its FFT size, the band of FFT bins its filters cover
    and their spectra there ``(bins, band)``; ``early_factor`` is the early downsampling of the whole plan."""

    rate: float
    hop: int
    n_fft: int
    spectra: np.ndarray
    band: slice
    early_factor: int


def octave_plan(
    sample_rate: int, *, hop_length: int, n_bins: int, bins_per_octave: int, fmin: float, filter_scale: float,
    sparsity: float = 0.01,
) -> list[Octave]:
    """Per octave, top first: its rate, hop, FFT size and filter spectra ``(bins, n_fft // 2 + 1)``,
    with librosa's scalings folded in (√(sr / octave sr) and 1 / √length)."""
    n_octaves = math.ceil(n_bins / bins_per_octave)
    freqs = fmin * 2.0 ** (np.arange(n_bins) / bins_per_octave)
    alpha = _relative_bandwidth(freqs)
    q = filter_scale / alpha
    cutoff = np.max(freqs * (1 + 0.5 * HANN_BANDWIDTH / q))
    if cutoff > sample_rate / 2:
        raise ValueError(
            f"CQT with {n_bins} bins from {fmin:.2f} Hz reaches {cutoff:.0f} Hz, above the Nyquist frequency "
            f"{sample_rate / 2:.0f} Hz of {sample_rate} Hz audio; use fewer bins or a higher sample rate"
        )
    # librosa's early downsampling: when the top filter sits far below Nyquist, the whole signal
    # is first resampled by 2^k (k limited by the factors of 2 the hop can give up)
    two_factors = (hop_length & -hop_length).bit_length() - 1
    early = min(
        max(0, int(np.ceil(np.log2(sample_rate / 2 / cutoff)) - 1) - 1),
        max(0, two_factors - n_octaves + 1),
    )
    base_rate = sample_rate / 2**early
    lengths_full = q * base_rate / freqs
    plan: list[Octave] = []
    rate, hop = base_rate, hop_length // 2**early
    for octave in range(n_octaves):
        top = n_bins - bins_per_octave * octave
        sl = slice(max(0, top - bins_per_octave), top)
        filters, lengths = _wavelet_filters(freqs[sl], alpha[sl], rate, filter_scale)
        n_fft = filters.shape[1]  # librosa's vqt does not widen the frame to the hop
        filters = filters * (lengths[:, None] / float(n_fft))
        spectra = np.fft.fft(filters, n=n_fft, axis=1)[:, : n_fft // 2 + 1]
        # librosa builds the basis in complex64 and sparsifies it there
        spectra = _sparsify_rows(spectra.astype(np.complex64), sparsity).astype(np.complex128)
        spectra *= np.sqrt(base_rate / rate) / np.sqrt(lengths_full[sl])[:, None]
        # the sparsified filters of an octave cover one band of FFT bins: project only that band
        used = np.flatnonzero(np.abs(spectra).sum(0) > 0)
        band = slice(int(used[0]), int(used[-1]) + 1)
        plan.append(Octave(rate, hop, n_fft, spectra[:, band], band, 2**early))
        if hop % 2 == 0:
            hop //= 2
            rate /= 2.0
        elif octave < n_octaves - 1:
            raise ValueError(f"hop_length {hop_length} cannot be halved for {n_octaves} octaves")
    return plan


def _halfband_kernel(taps_per_side: int = 64, beta: float = 10.0) -> np.ndarray:
    """A Kaiser-windowed sinc low-pass at a quarter of the rate, for halving it."""
    n = np.arange(-2 * taps_per_side, 2 * taps_per_side + 1)
    kernel = 0.5 * np.sinc(n / 2.0) * np.kaiser(len(n), beta)
    return kernel / kernel.sum()


def halve_rate_soxr(signal: Tensor, factor: int = 2) -> Tensor:
    """Divide the rate of ``Tensor (N, samples)`` by ``factor`` with soxr, as librosa does (length
    ``ceil(samples / factor)``, scaled by √factor); soxr runs on the CPU, the result goes back to the
    signal's device."""
    out_len = -(-signal.shape[-1] // factor)
    # one soxr call for all rows (channels of one stream): the same filter as row by row
    halved = soxr.resample(signal.detach().cpu().numpy().T, factor, 1, quality="soxr_hq").T
    if halved.shape[-1] < out_len:
        halved = np.pad(halved, ((0, 0), (0, out_len - halved.shape[-1])))
    return torch.from_numpy(np.ascontiguousarray(halved[:, :out_len])).to(signal.device) * math.sqrt(factor)


def halve_rate_sinc(signal: Tensor) -> Tensor:
    """Halve the rate of ``Tensor (N, samples)`` on any device with a windowed-sinc half-band
    filter, scaled by √2 like ``librosa.resample(scale=True)``."""
    out_len = -(-signal.shape[-1] // 2)
    kernel = torch.as_tensor(_halfband_kernel(), dtype=signal.dtype, device=signal.device)
    pad = len(kernel) // 2
    filtered = F.conv1d(F.pad(signal[:, None], (pad, pad)), kernel.flip(0)[None, None])[:, 0]
    return filtered[:, ::2][:, :out_len] * math.sqrt(2.0)


class ConstantQTransform(nn.Module):
    """|CQT| like ``np.abs(librosa.cqt(y, sr, hop_length, fmin, n_bins, bins_per_octave, filter_scale))``."""

    def __init__(
        self, sample_rate: int, *, hop_length: int = 512, n_bins: int = 110, bins_per_octave: int = 12,
        fmin: float | None = None, filter_scale: float = 4.0, resampler: str = "soxr",
    ) -> None:
        super().__init__()
        if resampler not in ("soxr", "sinc"):
            raise ValueError(f"resampler must be 'soxr' or 'sinc', got {resampler!r}")
        self.resampler = resampler
        self.sample_rate = sample_rate
        self.hop_length = hop_length
        self.n_bins = n_bins
        self.plan = octave_plan(
            sample_rate, hop_length=hop_length, n_bins=n_bins, bins_per_octave=bins_per_octave,
            fmin=C1_HZ if fmin is None else fmin, filter_scale=filter_scale,
        )
        for i, octave in enumerate(self.plan):
            # frame spectrum × filter spectra summed over the band equals one real correlation of
            # the frame with a complex kernel: kernel[b, n] = Σ_k spectra[b, k] e^{-2πikn/n_fft}; a
            # strided conv1d with it skips the framing, the FFT and the unused half of the spectrum
            n_fft, band = octave.n_fft, octave.band
            k = np.arange(band.start, band.stop)
            phase = np.exp(-2j * np.pi * np.outer(k, np.arange(n_fft)) / n_fft)  # F, n_fft
            kernel = octave.spectra @ phase  # bins, n_fft
            # real and imaginary parts as separate output channels (module.to(dtype) keeps both)
            stacked = np.concatenate([kernel.real, kernel.imag])[:, None]  # 2·bins, 1, n_fft
            self.register_buffer(f"kernel_{i}", torch.from_numpy(stacked.copy()), persistent=False)

    def _halve(self, signal: Tensor) -> Tensor:
        return halve_rate_soxr(signal) if self.resampler == "soxr" else halve_rate_sinc(signal)

    def forward(self, waveform: Tensor) -> Tensor:
        """``Tensor (..., samples)`` → ``(..., n_bins, 1 + samples // hop_length)``."""
        real, imag = self.complex_response(waveform)
        return torch.sqrt(real.square() + imag.square())

    def complex_response(self, waveform: Tensor) -> tuple[Tensor, Tensor]:
        """Real and imaginary parts of the CQT, each ``(..., n_bins, frames)``: linear in the waveform."""
        lead = waveform.shape[:-1]
        signal = waveform.reshape(-1, waveform.shape[-1])
        factor = self.plan[0].early_factor
        while factor > 1:  # librosa's early downsampling (in one soxr step)
            if self.resampler == "soxr":
                signal, factor = halve_rate_soxr(signal, factor).to(waveform.dtype), 1
            else:
                signal, factor = halve_rate_sinc(signal), factor // 2
        responses = []
        for i, octave in enumerate(self.plan):
            n_fft, hop = octave.n_fft, octave.hop
            padded = F.pad(signal, (n_fft // 2, n_fft // 2))
            if padded.shape[-1] < n_fft:
                padded = F.pad(padded, (0, n_fft - padded.shape[-1]))
            kernel = getattr(self, f"kernel_{i}").to(signal.dtype)
            with exact_float32():
                responses.append(F.conv1d(padded[:, None], kernel, stride=hop))  # N, 2·bins, T (real; imaginary)
            if i < len(self.plan) - 1:
                signal = self._halve(signal).to(waveform.dtype)
        n_frames = min(r.shape[-1] for r in responses)
        parts = [r[..., :n_frames].chunk(2, dim=1) for r in reversed(responses)]  # octaves low → high
        real = torch.cat([re for re, _ in parts], dim=1).reshape(*lead, self.n_bins, n_frames)
        imag = torch.cat([im for _, im in parts], dim=1).reshape(*lead, self.n_bins, n_frames)
        return real, imag


def amplitude_to_db(magnitude: Tensor, *, amin: float = 1e-5, top_db: float | None = 80.0) -> Tensor:
    """``librosa.amplitude_to_db(S, ref=np.max, amin, top_db)`` with the max of each spectrogram
    (the last two dims: each clip and view on its own)."""
    power = magnitude.square()
    ref = power.amax(dim=(-2, -1), keepdim=True).clamp_min(amin**2)
    db = 10.0 * torch.log10(power.clamp_min(amin**2)) - 10.0 * torch.log10(ref)
    if top_db is not None:
        db = torch.maximum(db, db.amax(dim=(-2, -1), keepdim=True) - top_db)
    return db
