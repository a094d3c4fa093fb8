"""Audio input: decode any soundfile-readable file, resample, and build channel views.

Every problem with an input file raises :class:`AudioError`, which names the file and the
problem, so a long run can report it and go on with the rest.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import soundfile as sf
import soxr
import torch
from torch import Tensor

MonoViews = Literal[1, 3]
# frames by which a compressed file may decode shorter than its header's estimate without being cut
# off: two MP3 frames of encoder delay and padding
COMPRESSED_LENGTH_SLACK = 2 * 1152


class AudioError(ValueError):
    """An audio file that cannot be used: missing, empty, corrupt, truncated or non-finite."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class Audio:
    """Decoded audio: ``samples`` is float32 ``(channels, samples)``."""

    samples: np.ndarray
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[-1] / self.sample_rate


# file extensions of the formats soundfile (libsndfile) decodes, by its format names
_SUFFIXES_BY_FORMAT = {
    "WAV": (".wav", ".wave"), "WAVEX": (".wav",), "RF64": (".rf64",), "W64": (".w64",), "FLAC": (".flac",),
    "OGG": (".ogg", ".oga", ".opus"), "MP3": (".mp3",), "AIFF": (".aif", ".aiff", ".aifc"), "AU": (".au", ".snd"),
    "CAF": (".caf",),
}


def audio_suffixes() -> frozenset[str]:
    """The file extensions of every format this soundfile build reads (WAV, FLAC, OGG, MP3 …)."""
    available = sf.available_formats()
    return frozenset(s for name, suffixes in _SUFFIXES_BY_FORMAT.items() if name in available for s in suffixes)


def probe(path: str | Path) -> sf._SoundFileInfo:
    """The header of an audio file, or an :class:`AudioError` saying exactly what is wrong with the path."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise AudioError(path, f"broken symbolic link (it points to {os.readlink(path)}, which does not exist)")
    if path.is_dir():
        raise AudioError(path, "is a folder, not an audio file")
    if not path.exists():
        raise AudioError(path, "file not found")
    if not path.is_file():
        raise AudioError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise AudioError(path, "file is empty (0 bytes)")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"not a readable audio file ({err})") from err
    except OSError as err:
        raise AudioError(path, f"cannot be read ({err.strerror or err})") from err
    if info.frames == 0:
        raise AudioError(path, "contains no audio frames")
    return info


def load(path: str | Path) -> Audio:
    """Read an audio file of any format soundfile decodes (any bit depth, any channel count) as
    float32 ``(channels, samples)``.

    Raises:
        AudioError: the path is missing, a folder or a broken link; the file is empty, not audio,
        truncated (decodes to fewer frames than its header promises), or carries NaN/Inf.
    """
    path = Path(path)
    info = probe(path)
    try:
        data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"corrupt audio data ({err})") from err
    except OSError as err:
        raise AudioError(path, f"cannot be read ({err.strerror or err})") from err
    if data.shape[0] == 0:
        raise AudioError(path, "contains no audio frames")
    # libsndfile quietly shortens a cut-off file to the frames it holds; the header says more. A WAV
    # header is exact; a compressed stream's length (MP3's Xing header) is an estimate off by
    # encoder padding, so only a shortfall beyond that counts
    declared = _wav_declared_frames(path)
    promised, slack = (declared, 0) if declared is not None else (info.frames, COMPRESSED_LENGTH_SLACK)
    if data.shape[0] < promised - slack:
        raise AudioError(path, f"truncated: header promises {promised} frames, file holds {data.shape[0]}")
    if not np.isfinite(data).all():
        raise AudioError(path, "contains NaN or Inf samples")
    return Audio(np.ascontiguousarray(data.T), int(sample_rate))


def _wav_declared_frames(path: Path) -> int | None:
    """Frames the RIFF/WAVE ``data`` chunk header declares, or None (not WAV, or streamed size)."""
    with path.open("rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            return None
        block_align = 0
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                fmt = handle.read(size + (size & 1))
                block_align = struct.unpack("<H", fmt[12:14])[0] if len(fmt) >= 14 else 0
            elif chunk_id == b"data":
                if block_align == 0 or size in (0, 0xFFFFFFFF):
                    return None
                return size // block_align
            else:
                handle.seek(size + (size & 1), 1)


def resample(samples: np.ndarray, source_rate: int, target_rate: int) -> np.ndarray:
    """Resample ``(channels, samples)`` with soxr (high quality), keeping the dtype; a no-op at equal rates."""
    if source_rate <= 0 or target_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {source_rate} → {target_rate}")
    if source_rate == target_rate:
        return samples
    out = soxr.resample(samples.T, source_rate, target_rate, quality="HQ")
    return np.ascontiguousarray(out.T, dtype=samples.dtype)


def channel_views(samples: Tensor, *, mono_views: MonoViews = 1) -> Tensor:
    """Build the paper's channel views from ``(channels, samples)`` → ``(views, samples)``.

    Stereo gives left, right and mid = (left + right) / 2. More than two channels: the first two
    are left and right. Mono gives one view, or three equal views when ``mono_views == 3`` so a
    mono set has the same view count as a stereo one.
    """
    if samples.ndim != 2:
        raise ValueError(f"expected (channels, samples), got shape {tuple(samples.shape)}")
    if samples.shape[0] == 1:
        if mono_views not in (1, 3):
            raise ValueError(f"mono_views must be 1 or 3, got {mono_views}")
        return samples.expand(mono_views, -1).contiguous()
    left, right = samples[0], samples[1]
    return torch.stack([left, right, 0.5 * (left + right)])


def view_relations(views: Tensor) -> list[str]:
    """How each of ``views (V, samples)`` follows from the ones before it, checked bit for bit.

    ``"copy"``: equal to the previous view (a mono signal spread over three views); ``"mid"``: the
    third view is ``0.5 * (left + right)`` exactly as :func:`channel_views` makes it; ``"own"``:
    anything else. A linear transform (STFT, CQT) of a ``"mid"`` view is the mean of the left and
    right ones, and of a ``"copy"`` the previous one, so feature code computes those only once.
    """
    relations = []
    for v, view in enumerate(views):
        if v > 0 and torch.equal(view, views[v - 1]):
            relations.append("copy")
        elif v == 2 and relations[:2] == ["own", "own"] and torch.equal(view, 0.5 * (views[0] + views[1])):
            relations.append("mid")
        else:
            relations.append("own")
    return relations


def view_names(n_channels: int, *, mono_views: MonoViews = 1) -> list[str]:
    """Names of the views :func:`channel_views` makes, in order."""
    if n_channels == 1:
        return ["mono"] if mono_views == 1 else ["mono", "mono", "mono"]
    return ["left", "right", "mid"]


def load_views(path: str | Path, sample_rate: int, *, mono_views: MonoViews = 1) -> Tensor:
    """A whole file's float32 views ``(views, samples)`` at ``sample_rate``: :func:`stream_views` joined
    (the one definition of decode → resample → views)."""
    return torch.cat(list(stream_views(path, sample_rate, mono_views=mono_views)), dim=1)


# frames decoded per read when streaming: ~1.4 s at 48 kHz, a few MB whatever the file's length
STREAM_BLOCK_FRAMES = 1 << 16


def stream_views(
    path: str | Path, sample_rate: int, *, mono_views: MonoViews = 1, block_frames: int = STREAM_BLOCK_FRAMES,
) -> Iterator[Tensor]:
    """The channel views of a file at ``sample_rate``, block after block (``Tensor (V, n)`` float32).

    Decoded with soundfile in blocks and resampled with soxr's streaming resampler, which gives
    the same samples as :func:`resample` of the whole file; memory does not grow with the file.
    The same checks as :func:`load` (NaN/Inf, truncation) run as the blocks come.
    """
    path = Path(path)
    info = probe(path)
    resampler = None
    if info.samplerate != sample_rate:
        resampler = soxr.ResampleStream(info.samplerate, sample_rate, info.channels, dtype="float32", quality="HQ")
    read = 0
    try:
        with sf.SoundFile(str(path)) as handle:
            while True:
                block = handle.read(block_frames, dtype="float32", always_2d=True)
                last = len(block) < block_frames
                read += len(block)
                if not np.isfinite(block).all():
                    raise AudioError(path, "contains NaN or Inf samples")
                if resampler is not None:
                    block = resampler.resample_chunk(block, last=last)
                if len(block):
                    yield channel_views(torch.from_numpy(np.ascontiguousarray(block.T)), mono_views=mono_views)
                if last:
                    break
    except (sf.LibsndfileError, RuntimeError) as err:
        raise AudioError(path, f"corrupt audio data ({err})") from err
    if read == 0:
        raise AudioError(path, "contains no audio frames")
    declared = _wav_declared_frames(path)
    promised, slack = (declared, 0) if declared is not None else (info.frames, COMPRESSED_LENGTH_SLACK)
    if read < promised - slack:
        raise AudioError(path, f"truncated: header promises {promised} frames, file holds {read}")


def stream_windows(
    path: str | Path, sample_rate: int, *, window: int, hop: int, mono_views: MonoViews = 1,
    block_frames: int = STREAM_BLOCK_FRAMES,
) -> Iterator[tuple[int, Tensor]]:
    """Windows ``(start, views (V, window))`` of a file at ``sample_rate``, as the blocks arrive.

    Starts every ``hop`` samples while a window fits, plus one window aligned to the end when
    samples remain (:func:`stasc.features.patches.patch_starts`'s rule); a recording shorter than one
    window is one window of its own length. Holds at most a window and a block in memory.
    """
    if window < 1 or hop < 1:
        raise ValueError(f"window and hop must be positive, got {window}, {hop}")
    buffer: Tensor | None = None
    offset = 0  # the sample index of buffer[:, 0]
    next_start, emitted_end = 0, 0
    for block in stream_views(path, sample_rate, mono_views=mono_views, block_frames=block_frames):
        buffer = block if buffer is None else torch.cat([buffer, block], dim=1)
        end = offset + buffer.shape[1]
        while next_start + window <= end:
            yield next_start, buffer[:, next_start - offset : next_start - offset + window].clone()
            emitted_end, next_start = next_start + window, next_start + hop
        keep_from = min(next_start, max(offset, end - window))  # the end-aligned window may need the tail
        buffer, offset = buffer[:, keep_from - offset :], keep_from
    if buffer is None:
        return
    end = offset + buffer.shape[1]
    if emitted_end == 0:
        yield 0, buffer  # shorter than one window: the whole recording
    elif emitted_end < end:
        yield end - window, buffer[:, -window:]
