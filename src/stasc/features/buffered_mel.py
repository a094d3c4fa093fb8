"""CPU engine for MFCC and log-mel: one recording at a time, in buffers reused across recordings.

Same numbers as :func:`stasc.features.functional.mfcc` (librosa parity), computed so that the
hot path neither allocates nor makes a pass it can avoid, which on a 2-core CPU is what
separates ~2x from ≥3x over librosa (measured in ``benchmarks/features.py``):

- Buffers for padded signal, frames, squared spectra and mel energies are allocated once per
  call and reused for every recording: each fresh multi-MB tensor costs hundreds of page faults
  with glibc's malloc. (``rfft`` allocates its own output: writing into a given one was slower,
  MKL copies into it.)
- ``|X|²`` is never formed: the spectrum's interleaved (re, im) pairs are squared and the mel
  weights are repeated per pair, so the filterbank product also sums re² + im².
- Views of one recording are often left, right and their mean, or one mono signal repeated
  (:func:`stasc.audio.view_relations` checks it bit for bit): the mean's spectrum is then the
  mean of the other two (the STFT is linear), a repeated view's a copy.
- Mel filters are triangles over a few adjacent FFT bins, so the filterbank is applied as dense
  blocks of ``rows_per_block`` filters, each over only the bins it covers: ~10x fewer
  multiply-adds than the dense product and faster than a sparse CSR one here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from stasc.audio import view_relations
from stasc.features import functional as F


@dataclass(frozen=True)
class FilterBlock:
    """Rows ``[row_start, row_end)`` of a filterbank, nonzero only on columns ``[col_start, col_end)``."""

    row_start: int
    row_end: int
    col_start: int
    col_end: int
    weights: Tensor  # (row_end - row_start, col_end - col_start)


def filterbank_blocks(basis: np.ndarray, *, rows_per_block: int, dtype: torch.dtype) -> list[FilterBlock]:
    """Split ``basis`` ``(M, F)`` into dense row blocks, each cut to the columns it uses."""
    if rows_per_block < 1:
        raise ValueError(f"rows_per_block must be >= 1, got {rows_per_block}")
    blocks = []
    for start in range(0, basis.shape[0], rows_per_block):
        rows = basis[start : start + rows_per_block]
        used = np.flatnonzero(rows.any(axis=0))
        lo, hi = (int(used[0]), int(used[-1]) + 1) if used.size else (0, 1)  # an all-zero block still yields zeros
        weights = torch.from_numpy(np.ascontiguousarray(rows[:, lo:hi])).to(dtype)
        blocks.append(FilterBlock(start, start + rows.shape[0], lo, hi, weights))
    return blocks


class BufferedLogMel:
    """Log-mel spectrograms ``(n_mels, frames)`` of every view, or MFCC when given a DCT basis.

    ``mel_basis`` is float64 ``(n_mels, n_fft // 2 + 1)``; ``dct_basis`` float64
    ``(n_mfcc, n_mels)`` or None. Works in the dtype of the signals (float32 or float64).
    """

    def __init__(
        self,
        *,
        n_fft: int,
        hop_length: int,
        window: Tensor,
        mel_basis: np.ndarray,
        dct_basis: np.ndarray | None,
        top_db: float | None,
        amin: float = 1e-10,
        rows_per_block: int = 8,
    ) -> None:
        if window.shape[-1] != n_fft:
            raise ValueError(f"window has {window.shape[-1]} samples, expected n_fft={n_fft}")
        if top_db is not None and top_db < 0:
            raise ValueError(f"top_db must be non-negative, got {top_db}")
        self.n_fft, self.hop_length, self.top_db, self.amin = n_fft, hop_length, top_db, amin
        self._window = window.detach().to(torch.float64)
        # Each weight repeated for the re and im entries of its bin (see the module docstring).
        self._mel_interleaved = np.repeat(mel_basis, 2, axis=1)
        self._dct = None if dct_basis is None else torch.from_numpy(np.asarray(dct_basis))
        self._n_mels = mel_basis.shape[0]
        self._rows_per_block = rows_per_block
        self._per_dtype: dict[torch.dtype, tuple[Tensor, list[FilterBlock], Tensor | None]] = {}

    def _constants(self, dtype: torch.dtype) -> tuple[Tensor, list[FilterBlock], Tensor | None]:
        if dtype not in self._per_dtype:
            blocks = filterbank_blocks(self._mel_interleaved, rows_per_block=self._rows_per_block, dtype=dtype)
            dct = None if self._dct is None else self._dct.to(dtype)
            self._per_dtype[dtype] = (self._window.to(dtype), blocks, dct)
        return self._per_dtype[dtype]

    def __call__(self, views: Tensor) -> Tensor:
        """``Tensor (B, V, samples)`` → ``(B, V, rows, frames)``: B recordings of V views each."""
        if views.ndim != 3 or views.device.type != "cpu" or not views.dtype.is_floating_point:
            raise ValueError(f"expected a CPU float tensor (B, V, samples), got {views.dtype} {tuple(views.shape)}")
        window, blocks, dct = self._constants(views.dtype)
        n_clips, n_views, n_samples = views.shape
        half = self.n_fft // 2
        n_frames = F.frame_count(n_samples, self.hop_length)
        n_rows = self._n_mels if dct is None else dct.shape[0]

        padded = torch.zeros(n_samples + 2 * half, dtype=views.dtype)  # centred frames, zero ('constant') padding
        frames = torch.empty(n_frames, self.n_fft, dtype=views.dtype)
        framed = F.frame(padded, n_fft=self.n_fft, hop_length=self.hop_length)  # a view: frames follow the buffer
        squares = torch.empty(n_views * n_frames, 2 * (half + 1), dtype=views.dtype)  # V·T, 2F: re², im² per bin
        mel = torch.empty(self._n_mels, n_views * n_frames, dtype=views.dtype)
        out = torch.empty(n_clips, n_views, n_rows, n_frames, dtype=views.dtype)

        for clip, clip_views in enumerate(views):
            spectra = self._spectra(clip_views, padded, framed, frames, window)
            for v, spectrum in enumerate(spectra):
                rows = squares[v * n_frames : (v + 1) * n_frames]
                torch.square(torch.view_as_real(spectrum).view(n_frames, -1), out=rows)
            # one product per filter block for all views at once: larger, more efficient GEMMs
            for block in blocks:
                cols = squares[:, block.col_start : block.col_end]
                torch.matmul(block.weights, cols.T, out=mel[block.row_start : block.row_end])
            db = mel.clamp_(min=self.amin).log10_().mul_(10.0).view(-1, n_views, n_frames)  # power_to_db, ref 1
            if self.top_db is not None:  # the floor is per view
                torch.maximum(db, db.amax(dim=(0, 2), keepdim=True) - self.top_db, out=db)
            rows = db if dct is None else torch.matmul(dct, mel).view(-1, n_views, n_frames)
            out[clip] = rows.transpose(0, 1)
        return out

    def _spectra(self, views: Tensor, padded: Tensor, framed: Tensor, frames: Tensor, window: Tensor) -> list[Tensor]:
        """STFT of each view ``(frames, bins)``, sharing work between related views."""
        half, n_samples = self.n_fft // 2, views.shape[-1]
        spectra: list[Tensor] = []
        for v, relation in enumerate(view_relations(views)):
            if relation == "copy":
                spectra.append(spectra[-1])
            elif relation == "mid":  # the STFT is linear: one FFT saved in three
                spectra.append(torch.add(spectra[0], spectra[1]).mul_(0.5))
            else:
                padded[half : half + n_samples] = views[v]
                torch.mul(framed, window, out=frames)
                spectra.append(torch.fft.rfft(frames))
        return spectra
