"""``nn.Module`` wrappers of the feature functions: defaults resolved once, bases as buffers.

Each transform maps channel views ``Tensor (..., views, samples)`` at the spec's sample rate to
spectrograms ``(..., views', rows, frames)``; ``views' = views`` except for HPSS-MFCC, which
splits every view into harmonic and percussive (SPEC §2: L-h, L-p, R-h, R-p, mid-h, mid-p).
Work is done in chunks of ``chunk_size`` signals so a large batch never holds every
intermediate spectrogram at once. By default a chunk is small on CPU, where intermediates that
stay in the caches are fastest, and large on accelerators. MFCC on CPU needs no chunks: its
engine already works one signal at a time in reused buffers.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import Tensor, nn

from stasc.audio import view_relations
from stasc.features import functional as F
from stasc.features.buffered_mel import BufferedLogMel
from stasc.features.cqt import ConstantQTransform, amplitude_to_db
from stasc.features.hpss import hpss
from stasc.features.spec import FeatureSpec


class _ChunkedTransform(nn.Module, ABC):
    """Flattens leading dims, runs ``_signals`` over chunks, restores the leading dims."""

    cpu_chunk_size = 3
    accelerator_chunk_size = 64

    def __init__(self, spec: FeatureSpec, *, chunk_size: int | None = None) -> None:
        super().__init__()
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.spec = spec
        self.chunk_size = chunk_size

    @abstractmethod
    def _signals(self, signals: Tensor) -> Tensor:
        """``Tensor (N, samples)`` → ``(N, k, rows, frames)``."""

    def forward(self, views: Tensor) -> Tensor:
        """``Tensor (..., V, samples)`` → ``(..., V·k, rows, frames)``, k = views per input view."""
        if views.ndim < 2:
            raise ValueError(f"expected (..., views, samples), got shape {tuple(views.shape)}")
        lead = views.shape[:-1]
        flat = views.reshape(-1, views.shape[-1])
        size = self.chunk_size or (self.cpu_chunk_size if views.device.type == "cpu" else self.accelerator_chunk_size)
        parts = [self._signals(chunk) for chunk in flat.split(size)]
        out = parts[0] if len(parts) == 1 else torch.cat(parts)  # N, k, R, T
        return out.reshape(*lead[:-1], lead[-1] * out.shape[1], *out.shape[-2:])


class MFCC(_ChunkedTransform):
    """librosa-parity MFCC (``kind='mfcc'``) or the log-mel spectrogram under it (``kind='logmel'``).

    On CPU the work goes to :class:`BufferedLogMel` (one signal at a time in reused buffers, the
    views of a recording together); on accelerators, and whenever gradients are wanted, to the
    batched pure functions in chunks.
    """

    def __init__(self, spec: FeatureSpec, *, chunk_size: int | None = None) -> None:
        super().__init__(spec, chunk_size=chunk_size)
        mel = F.mel_filterbank(spec.sample_rate, spec.n_fft, n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.fmax)
        n_dct = spec.n_mfcc if spec.kind != "logmel" else spec.n_mels
        dct = F.dct_matrix(n_dct, spec.n_mels)
        window = torch.hann_window(spec.n_fft, periodic=True, dtype=torch.float64)
        self.register_buffer("mel_basis", torch.from_numpy(mel), persistent=False)
        self.register_buffer("dct_basis", torch.from_numpy(dct), persistent=False)
        self.register_buffer("window", window, persistent=False)
        common = {"n_fft": spec.n_fft, "hop_length": spec.hop_length, "window": window, "mel_basis": mel,
                  "top_db": spec.top_db}
        self._cpu_mfcc = BufferedLogMel(dct_basis=dct, **common)
        self._cpu_log_mel = BufferedLogMel(dct_basis=None, **common)

    def forward(self, views: Tensor) -> Tensor:
        """``Tensor (..., V, samples)`` → ``(..., V, rows, frames)``."""
        if views.ndim < 2 or self._batched(views):
            return super().forward(views)
        engine = self._cpu_log_mel if self.spec.kind == "logmel" else self._cpu_mfcc
        out = engine(views.reshape(-1, *views.shape[-2:]))
        return out.reshape(*views.shape[:-1], *out.shape[-2:])

    def _batched(self, signals: Tensor) -> bool:
        return signals.device.type != "cpu" or (torch.is_grad_enabled() and signals.requires_grad)

    def mfcc(self, signals: Tensor) -> Tensor:
        """``Tensor (N, samples)`` → ``(N, n_mfcc, frames)``."""
        if not self._batched(signals):
            return self._cpu_mfcc(signals[:, None])[:, 0]
        return F.mfcc(
            signals,
            n_fft=self.spec.n_fft,
            hop_length=self.spec.hop_length,
            mel_basis=self.mel_basis.to(signals.dtype),
            dct_basis=self.dct_basis.to(signals.dtype),
            top_db=self.spec.top_db,
            window=self.window.to(signals.dtype),
        )

    def log_mel(self, signals: Tensor) -> Tensor:
        """``Tensor (N, samples)`` → ``(N, n_mels, frames)``."""
        if not self._batched(signals):
            return self._cpu_log_mel(signals[:, None])[:, 0]
        return F.log_mel(
            signals, n_fft=self.spec.n_fft, hop_length=self.spec.hop_length, mel_basis=self.mel_basis.to(signals.dtype),
            top_db=self.spec.top_db, window=self.window.to(signals.dtype),
        )

    def _signals(self, signals: Tensor) -> Tensor:
        out = self.log_mel(signals) if self.spec.kind == "logmel" else self.mfcc(signals)
        return out.unsqueeze(1)


class CQT(_ChunkedTransform):
    """librosa-parity constant-Q magnitude in dB relative to each view's maximum (``kind='cqt'``)."""

    def __init__(self, spec: FeatureSpec, *, chunk_size: int | None = None) -> None:
        super().__init__(spec, chunk_size=chunk_size)
        self.cqt = ConstantQTransform(
            spec.sample_rate,
            hop_length=spec.hop_length,
            n_bins=spec.n_bins,
            bins_per_octave=spec.bins_per_octave,
            fmin=spec.cqt_fmin,
            filter_scale=spec.filter_scale,
        )

    def _signals(self, signals: Tensor) -> Tensor:
        return amplitude_to_db(self.cqt(signals), top_db=self.spec.top_db).unsqueeze(1)

    def forward(self, views: Tensor) -> Tensor:
        """``Tensor (..., V, samples)`` → ``(..., V, n_bins, frames)``; on CPU a recording at a time,
        so that its mid and repeated views reuse the others' transforms (:func:`view_relations`)."""
        if views.ndim < 2 or views.device.type != "cpu" or (torch.is_grad_enabled() and views.requires_grad):
            return super().forward(views)
        flat = views.reshape(-1, *views.shape[-2:])
        out = torch.stack([self._recording(recording) for recording in flat])
        return out.reshape(*views.shape[:-1], *out.shape[-2:])

    def _recording(self, views: Tensor) -> Tensor:
        plan = view_relations(views)
        computed = [v for v, how in enumerate(plan) if how == "own"]
        real, imag = self.cqt.complex_response(views[computed])
        by_view: dict[int, tuple[Tensor, Tensor]] = {v: (real[i], imag[i]) for i, v in enumerate(computed)}
        for v, how in enumerate(plan):
            if how == "copy":
                by_view[v] = by_view[v - 1]
            elif how == "mid":  # the transform is linear: the mid's response is the mean of left's and right's
                by_view[v] = tuple(0.5 * (a + b) for a, b in zip(by_view[0], by_view[1]))  # type: ignore[assignment]
        magnitude = torch.stack([torch.sqrt(re.square() + im.square()) for re, im in (by_view[v] for v in range(len(plan)))])
        return amplitude_to_db(magnitude, top_db=self.spec.top_db)


class HPSSMFCC(_ChunkedTransform):
    """MFCC of the harmonic and the percussive part of each view (``kind='hpss_mfcc'``)."""

    def __init__(self, spec: FeatureSpec, *, chunk_size: int | None = None) -> None:
        super().__init__(spec, chunk_size=chunk_size)
        self.mfcc = MFCC(spec)

    def _signals(self, signals: Tensor) -> Tensor:
        harmonic, percussive = hpss(
            signals,
            n_fft=self.spec.hpss_n_fft,
            hop_length=self.spec.hpss_hop_length,
            kernel_size=self.spec.hpss_kernel,
            margin=self.spec.hpss_margin,
        )
        parts = torch.stack([harmonic, percussive], dim=1)  # N, 2, samples
        coefficients = self.mfcc.mfcc(parts.reshape(-1, parts.shape[-1]))
        return coefficients.reshape(signals.shape[0], 2, *coefficients.shape[-2:])


def build_transform(spec: FeatureSpec, *, chunk_size: int | None = None) -> nn.Module:
    """The transform for a spec's kind."""
    kinds: dict[str, type[_ChunkedTransform]] = {"mfcc": MFCC, "logmel": MFCC, "cqt": CQT, "hpss_mfcc": HPSSMFCC}
    return kinds[spec.kind](spec, chunk_size=chunk_size)
