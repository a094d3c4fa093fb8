"""Harmonic-percussive source separation with librosa parity, batched in PyTorch.

Same steps as ``librosa.effects.hpss`` (the reference, SPEC §2): a centred STFT (periodic Hann,
zero padding), median filters of the magnitude along time (harmonic) and along frequency
(percussive) with scipy's ``mode='reflect'`` borders, soft masks (``librosa.util.softmask``; with
margin 1 the 0/0 bins are split evenly), and the inverse STFT of each masked spectrum.

The running medians are exact order statistics (only ``min``/``max`` touch the values), so they
equal ``scipy.ndimage.median_filter`` bit for bit. They cost O(kernel) element operations per
output instead of sorting every window: windows starting in one block of ``kernel // 2 + 1``
positions share a core of ``kernel // 2 + 1`` samples; the sorted core plus the samples to its left
(kept by insertion) and the sorted samples to its right (kept by insertion, stored) give each
window's median as the ``k``-th smallest of two sorted lists, ``min_i max(a_i, b_{k-i})``. Work
is cut into chunks of about ``lane_elements`` values per sorted position, so a chunk's ~200 lanes
stay in the CPU caches and the memory needed does not grow with the batch.

With margin 1 the two soft masks add up to one, so the percussive waveform is the input minus the
harmonic one (librosa's too, to float rounding): one inverse STFT instead of two.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

from stasc.features import functional as F

# values per sorted lane in one median-filter chunk. On one CPU thread a chunk holds ~200 such
# lanes, and 16 k float32 values each (~13 MB) measured fastest; accelerators take whole batches.
CPU_LANE_ELEMENTS = 16_384
ACCELERATOR_LANE_ELEMENTS = 1 << 22
# torch runs an element-wise op on several threads from 32768 values (at::internal::GRAIN_SIZE).
# The filter issues ~100 small ops per chunk; each thread barrier costs a scheduler slice when the
# cores are shared (measured 150x slower on 2 busy cores), so with several threads every op stays
# below this size and runs on one.
PARALLEL_GRAIN = 32_768
# signal samples separated at once on a CPU (3 ten-second views at 44.1 kHz): bigger batches are cut
# so that intermediates stay ~130 MB and are reused by the allocator instead of page-faulted afresh
# (24 views at once measured 2x slower per view)
CPU_BATCH_SAMPLES = 1_500_000


def reflect_indices(n: int, before: int, after: int, *, device: torch.device | None = None) -> Tensor:
    """Indices into ``n`` samples for positions ``-before … n + after - 1`` under scipy's
    ``mode='reflect'`` (``d c b a | a b c d | d c b a``: the edge sample repeated), any pad width."""
    positions = torch.arange(-before, n + after, device=device)
    period = 2 * n
    folded = torch.remainder(positions, period)
    return torch.where(folded >= n, period - 1 - folded, folded)


def median_filter(x: Tensor, size: int, *, dim: int, lane_elements: int | None = None) -> Tensor:
    """Running median of odd ``size`` along ``dim``, borders as scipy ``mode='reflect'``.

    ``Tensor (...)`` floating point → same shape, dtype and device. Equals
    ``scipy.ndimage.median_filter(x, size=s, mode='reflect')`` with ``s`` being ``size`` on ``dim``
    and 1 elsewhere, exactly, wherever scipy is well defined: with ``size // 2 >= 2 n`` (``n`` the
    axis length; 31 on fewer than 8 frames) scipy's n-d filters read outside the array, while this
    keeps reflecting (``np.pad(mode='symmetric')``). ``lane_elements`` sets the chunk size (see
    the module docstring); ``None`` picks one for the device and the thread count.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1 or size % 2 == 0:
        raise ValueError(f"median filter size must be a positive odd integer, got {size!r}")
    if not x.is_floating_point():
        raise TypeError(f"median_filter needs a floating-point tensor, got dtype {x.dtype}")
    if x.dim() == 0:
        raise ValueError("median_filter needs at least one dimension, got a scalar tensor")
    dim = dim % x.dim()
    result = torch.empty_like(x, memory_format=torch.contiguous_format)
    if size == 1 or x.numel() == 0:
        return result.copy_(x)
    # work as (B, N, M): N the filtered axis, M a neighbouring axis kept innermost for speed
    if x.dim() == 1:
        source, target = x[:, None], result[:, None]
    elif dim == x.dim() - 1:
        source, target = x.transpose(-1, -2), result.transpose(-1, -2)
    else:
        source, target = x.movedim(dim, -2), result.movedim(dim, -2)
    n, m = source.shape[-2:]
    if lane_elements is None:
        if x.device.type != "cpu":
            lane_elements = ACCELERATOR_LANE_ELEMENTS
        elif torch.get_num_threads() > 1:
            lane_elements = max(1, PARALLEL_GRAIN // (size // 2 + 2) - 1)
        else:
            lane_elements = CPU_LANE_ELEMENTS
    try:
        flat_target = target.view(-1, n, m)  # B, N, M: a view when the moved axes allow it
    except RuntimeError:
        flat_target = torch.empty(target.shape, dtype=x.dtype, device=x.device).view(-1, n, m)
    _median_into(flat_target, source.reshape(-1, n, m), size // 2, lane_elements)
    if flat_target.data_ptr() != result.data_ptr():
        target.copy_(flat_target.view(target.shape))
    return result


def _median_into(target: Tensor, source: Tensor, half: int, lane_elements: int) -> None:
    """Running medians of ``2 half + 1`` along dim 1 of ``source (B, N, M)`` into ``target``."""
    batch, n, m = source.shape
    step = half + 1  # window starts per block
    blocks = -(-n // step)
    before = half + step  # one block in front: its right-hand lists give the first core
    padded_length = (blocks + 3) * step
    index = reflect_indices(n, before, padded_length - before - n, device=source.device)
    head, tail = index[:before], index[before + n :]
    chunk_m = max(1, min(m, lane_elements // (blocks + 1)))
    chunk_b = max(1, min(batch, lane_elements // ((blocks + 1) * chunk_m)))
    dtype, device = source.dtype, source.device
    # right-hand lists, slot j = [-inf, j sorted samples, +inf]; slot offsets
    offsets = [0]
    for j in range(half + 1):
        offsets.append(offsets[-1] + j + 2)
    store = torch.empty(offsets[-1], chunk_b, blocks + 1, chunk_m, dtype=dtype, device=device)
    for j in range(half + 1):
        store[offsets[j]].fill_(-math.inf)
        store[offsets[j] + j + 1].fill_(math.inf)
    lanes = torch.empty(4, half + 1, chunk_b, blocks, chunk_m, dtype=dtype, device=device)
    padded = torch.empty(chunk_b, padded_length, chunk_m, dtype=dtype, device=device)
    out = torch.empty(step, chunk_b, blocks, chunk_m, dtype=dtype, device=device)
    full_blocks, rest = divmod(n, step)
    for b0 in range(0, batch, chunk_b):
        bc = min(chunk_b, batch - b0)
        for m0 in range(0, m, chunk_m):
            mc = min(chunk_m, m - m0)
            piece = source[b0 : b0 + bc, :, m0 : m0 + mc]
            xp = padded[:bc, :, :mc]
            xp[:, before : before + n] = piece
            xp[:, :before] = piece.index_select(1, head)
            xp[:, before + n :] = piece.index_select(1, tail)
            chunk_out = out[:, :bc, :, :mc]
            _median_blocks(xp, half, store[:, :bc, :, :mc], offsets, lanes[:, :, :bc, :, :mc], chunk_out)
            dest = target[b0 : b0 + bc, :, m0 : m0 + mc]
            if full_blocks:
                dest[:, : full_blocks * step].view(bc, full_blocks, step, mc).copy_(
                    chunk_out[:, :, :full_blocks].permute(1, 2, 0, 3)
                )
            if rest:
                dest[:, full_blocks * step :].copy_(chunk_out[:rest, :, full_blocks].transpose(0, 1))


def _median_blocks(padded: Tensor, half: int, store: Tensor, offsets: list[int], lanes: Tensor, out: Tensor) -> None:
    """Medians of one chunk: ``padded (B, (nb + 3) s, M)`` → ``out (s, B, nb, M)``, ``s = half + 1``.

    Padded block ``c`` (``c = 1 … nb``; block 0 is only a helper) holds the windows starting at
    offsets ``j = 0 … half`` of it, each the union of: the core (offsets ``half … 2 half``), the
    left part (offsets ``j … half - 1``) and the right part (offsets ``2 half + 1 … 2 half + j``).
    The median (rank ``half + 1``) is the ``k``-th smallest of ``left ∪ core`` (only its
    ``half + 1`` smallest are kept, in descending order) and ``right`` (ascending).
    """
    step = half + 1
    batch, padded_length, m = padded.shape
    blocks = out.shape[2]
    grid = padded.view(batch, padded_length // step, step, m)

    def sample(offset: int, first: int, count: int) -> Tensor:
        """The sample at ``offset`` from the start of blocks ``first … first + count - 1``."""
        q, r = divmod(offset, step)
        return grid[:, first + q : first + q + count, r]  # B, count, M

    # right-hand lists of blocks 0 … nb by insertion, ascending, all kept
    for j in range(1, half + 1):
        previous = store[offsets[j - 1] : offsets[j - 1] + j + 1]  # -inf, j - 1 sorted, +inf
        current = store[offsets[j] + 1 : offsets[j] + j + 1]
        value = sample(2 * half + j, 0, blocks + 1)
        torch.minimum(previous[1:], value, out=current)
        torch.maximum(previous[:-1], current, out=current)
    # cores of blocks 1 … nb: block c - 1's full right-hand list plus one sample, then descending
    full = store[offsets[half] : offsets[half] + half + 2, :, :blocks]
    core, left, spare, selected = lanes
    value = sample(3 * half + 1, 0, blocks)
    torch.minimum(full[1:], value, out=core)
    torch.maximum(full[:-1], core, out=core)
    for i in range(step):
        left[i].copy_(core[half - i])
    for j in range(half, -1, -1):
        if j < half:  # insert offset j into the descending left list, keeping its lanes 0 … j
            value = sample(j, 1, blocks)
            torch.minimum(left[: j + 1], value, out=spare[: j + 1])
            torch.maximum(left[1 : j + 2], spare[: j + 1], out=spare[: j + 1])
            left, spare = spare, left
        right = store[offsets[j] : offsets[j] + j + 1, :, 1:]  # -inf, j sorted
        torch.maximum(right, left[: j + 1], out=selected[: j + 1])
        torch.amin(selected[: j + 1], 0, out=out[j])


def softmask(x: Tensor, reference: Tensor, *, power: float, split_zeros: bool) -> Tensor:
    """``librosa.util.softmask``: ``x^p / (x^p + reference^p)`` for non-negative ``x``, ``reference``
    of one shape; where both are below the dtype's ``tiny`` the mask is 0.5 (``split_zeros``) or
    0; ``power=inf`` gives the hard mask ``x > reference``."""
    if not power > 0:
        raise ValueError(f"softmask power must be > 0, got {power}")
    if math.isinf(power):
        return (x > reference).to(x.dtype)
    # 1 / (1 + (ref/x)^p) is librosa's ratio of rescaled powers, without its Z rescaling pass:
    # x = 0 < ref gives ref/x = inf → 0, as librosa; overflow of the ratio also rounds to 0
    ratio = reference / x
    mask = ratio.pow_(power) if power != 2 else ratio.square_()
    mask = mask.add_(1).reciprocal_()
    tiny = torch.finfo(x.dtype).tiny
    bad = torch.maximum(x, reference) < tiny
    return mask.masked_fill_(bad, 0.5 if split_zeros else 0.0)


def istft(spectrum: Tensor, *, n_fft: int, hop_length: int, window: Tensor, length: int) -> Tensor:
    """Inverse of :func:`stasc.features.functional.stft` like ``librosa.istft(center=True, length=length)``: complex
    ``Tensor (N, frames, bins)`` → ``(N, length)``; windowed overlap-add divided by the summed
    squared window wherever that exceeds the dtype's ``tiny``."""
    frames = spectrum.shape[-2]
    pieces = torch.fft.irfft(spectrum, n=n_fft) * window  # N, T, n_fft
    signal = _overlap_add(pieces, hop_length)
    envelope = _overlap_add(window.square().expand(1, frames, n_fft), hop_length)[0]
    start = n_fft // 2
    signal = signal[..., start : start + length]
    envelope = envelope[start : start + length]
    envelope = torch.where(envelope > torch.finfo(envelope.dtype).tiny, envelope, torch.ones_like(envelope))
    out = signal / envelope
    if out.shape[-1] < length:  # never with centred frames, kept for librosa's fix_length
        out = torch.nn.functional.pad(out, (0, length - out.shape[-1]))
    return out


def _overlap_add(pieces: Tensor, hop_length: int) -> Tensor:
    """``Tensor (N, T, L)`` frames ``hop_length`` apart → ``(N, (T - 1) hop + L)`` summed."""
    batch, frames, size = pieces.shape
    if size % hop_length == 0:
        overlap = size // hop_length
        out = pieces.new_zeros(batch, frames + overlap - 1, hop_length)
        parts = pieces.view(batch, frames, overlap, hop_length)
        for q in range(overlap):
            out[:, q : q + frames] += parts[:, :, q]
        return out.view(batch, -1)
    total = (frames - 1) * hop_length + size
    return torch.nn.functional.fold(
        pieces.transpose(1, 2), output_size=(1, total), kernel_size=(1, size), stride=(1, hop_length)
    ).view(batch, total)


def hpss(
    waveform: Tensor,
    *,
    n_fft: int = 2048,
    hop_length: int = 512,
    kernel_size: int = 31,
    power: float = 2.0,
    margin: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """Harmonic and percussive parts of ``Tensor (..., samples)``, each ``(..., samples)``.

    Equals ``librosa.effects.hpss(y, kernel_size=kernel_size, power=power, mask=False,
    margin=margin, n_fft=n_fft, hop_length=hop_length)`` (Hann window of ``n_fft``, centred
    frames, zero padding) to float rounding, on the input's device and dtype (float32/float64).
    Any length ≥ 1 works (shorter than ``n_fft`` too, as librosa, which warns).
    """
    if not waveform.is_floating_point() or waveform.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"hpss needs a float32 or float64 waveform, got dtype {waveform.dtype}")
    if waveform.dim() == 0 or waveform.shape[-1] == 0:
        raise ValueError(f"hpss needs a waveform (..., samples) with samples ≥ 1, got shape {tuple(waveform.shape)}")
    for name, value in (("n_fft", n_fft), ("hop_length", hop_length), ("kernel_size", kernel_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"hpss {name} must be a positive integer, got {value!r}")
    if kernel_size % 2 == 0:
        raise ValueError(f"hpss kernel_size must be odd (scipy centres odd windows), got {kernel_size}")
    if not power > 0:
        raise ValueError(f"hpss power must be > 0, got {power}")
    if not margin >= 1:
        raise ValueError(f"hpss margin must be >= 1 (librosa's minimum), got {margin}")
    lead, n_samples = waveform.shape[:-1], waveform.shape[-1]
    signal = waveform.reshape(-1, n_samples)  # N, samples
    window = F.hann_window(n_fft, dtype=signal.dtype, device=signal.device)
    separate = functools.partial(_separate, n_fft=n_fft, hop_length=hop_length, kernel_size=kernel_size, power=power,
                                 margin=margin, window=window)
    per_chunk = signal.shape[0] if signal.device.type != "cpu" else max(1, CPU_BATCH_SAMPLES // n_samples)
    if signal.shape[0] <= per_chunk:
        harmonic, percussive = separate(signal)
    else:
        harmonic, percussive = torch.empty_like(signal), torch.empty_like(signal)
        for start in range(0, signal.shape[0], per_chunk):
            parts = separate(signal[start : start + per_chunk])
            harmonic[start : start + per_chunk], percussive[start : start + per_chunk] = parts
    return harmonic.reshape(*lead, n_samples), percussive.reshape(*lead, n_samples)


def _separate(
    signal: Tensor, *, n_fft: int, hop_length: int, kernel_size: int, power: float, margin: float, window: Tensor
) -> tuple[Tensor, Tensor]:
    """:func:`hpss` of ``Tensor (N, samples)`` → harmonic, percussive ``(N, samples)``."""
    n_samples = signal.shape[-1]
    spectrum = F.stft(signal, n_fft=n_fft, hop_length=hop_length, window=window)  # N, T, F
    magnitude = spectrum.abs()
    harmonic_mag = median_filter(magnitude, kernel_size, dim=-2)  # along time
    percussive_mag = median_filter(magnitude, kernel_size, dim=-1)  # along frequency
    del magnitude
    split = margin == 1
    mask = softmask(harmonic_mag, percussive_mag * margin if margin != 1 else percussive_mag, power=power,
                    split_zeros=split)
    inverse = functools.partial(istft, n_fft=n_fft, hop_length=hop_length, window=window, length=n_samples)
    harmonic = inverse(spectrum * mask)
    if split and math.isfinite(power):  # soft masks sum to one: percussive = input - harmonic
        percussive = signal - harmonic
    else:
        mask = softmask(percussive_mag, harmonic_mag * margin, power=power, split_zeros=split)
        percussive = inverse(spectrum * mask)
    return harmonic, percussive
