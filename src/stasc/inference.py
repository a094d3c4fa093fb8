"""Prediction on new audio with a trained PyTorch model: ``Predictor.from_checkpoint(path).predict_file(...)``.

A recording is cut into windows of ``window_seconds`` (default 10 s, the training clip length)
every ``hop_seconds``; the last window is aligned to the end of the recording so every window is
full length (a recording shorter than one window is one window). The file is read in blocks
(:func:`stasc.audio.stream_windows`), so memory does not grow with its length. A window's
probabilities are the mean over all its patches and views (SPEC §4); the file's are the mean
over its windows. :func:`predict_file` runs any :class:`WindowModel` this way: a
:class:`Predictor`, the fold average or vote of :mod:`stasc.ensemble`, an ONNX export.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from stasc import checkpoint
from stasc.audio import AudioError, stream_windows
from stasc.config import ExperimentConfig
from stasc.features.frontend import FrontEnd
from stasc.features.patches import Normalizer, patch_starts, weighted_mean
from stasc.models import build_model
from stasc.models.members import Network
from stasc.models.probabilities import class_probabilities

CheckpointError = checkpoint.CheckpointError


@dataclass
class WindowPrediction:
    start: float
    end: float
    probabilities: np.ndarray  # (classes,)


@dataclass
class FilePrediction:
    """One recording: its windows (a timeline) and the summary over all of them."""

    path: Path
    classes: tuple[str, ...]
    windows: list[WindowPrediction]

    @property
    def probabilities(self) -> np.ndarray:
        return np.mean([w.probabilities for w in self.windows], axis=0)

    @property
    def label(self) -> str:
        return self.classes[int(np.argmax(self.probabilities))]

    @property
    def duration(self) -> float:
        return max(w.end for w in self.windows)


class WindowModel(Protocol):
    """What :func:`predict_file` needs of a model."""

    @property
    def classes(self) -> tuple[str, ...]: ...

    @property
    def sample_rate(self) -> int: ...

    @property
    def mono_views(self) -> int: ...

    @property
    def min_samples(self) -> int: ...

    def window_probabilities(self, views: Tensor | Sequence[Tensor]) -> Tensor:
        """Windows ``(W, V, samples)``, or a list of ``(V, samples)`` of any lengths → ``(W, K)`` probabilities."""
        ...


def window_starts(n_samples: int, window: int, hop: int) -> list[int]:
    """Window start samples: every ``hop`` while a window fits, plus one aligned to the end."""
    if window < 1 or hop < 1:
        raise ValueError(f"window and hop must be positive, got {window}, {hop}")
    return patch_starts(n_samples, width=window, shift=hop)  # the same rule as patches over frames


@dataclass
class FileFailure:
    """A file that could not be predicted, and why."""

    path: Path
    problem: str


@dataclass
class _Pending:
    path: Path
    windows: list[WindowPrediction]
    queued: int = 0  # windows waiting in the batch
    streamed: bool = False  # every window of the file has been read
    failure: str | None = None


def predict_files(
    model: WindowModel, paths: Iterable[str | Path], *, window_seconds: float = 10.0, hop_seconds: float = 10.0,
    batch_windows: int = 16,
) -> Iterator[FilePrediction | FileFailure]:
    """Every file's prediction (or failure), in the order given, as soon as it is complete.

    Windows of consecutive files go through the network together, ``batch_windows`` at a time
    (whatever their lengths), so many short files run nearly as fast as a few long ones; a long
    file streams through in blocks, so memory holds a batch of windows, never the recording. A file
    that cannot be read, or is shorter than the
    model's minimum (one analysis frame of its features: "too short"), gives a :class:`FileFailure`.

    A process that predicts hours of audio should call
    :func:`stasc.allocator.return_large_buffers_to_the_system` once first (``stasc predict`` does when a
    recording is longer than 10 minutes): it is a process-wide allocator setting that slows everything else
    down, so the library leaves that choice to the program.
    """
    rate = model.sample_rate
    window, hop = max(1, round(window_seconds * rate)), max(1, round(hop_seconds * rate))
    order: deque[_Pending] = deque()
    batch: list[tuple[_Pending, int, Tensor]] = []

    def run_batch() -> None:
        live = [(item, start, views) for item, start, views in batch if item.failure is None]
        if live:
            probs = model.window_probabilities([views for _, _, views in live])
            for (item, start, views), p in zip(live, probs):
                length = views.shape[-1]
                item.windows.append(WindowPrediction(start / rate, (start + length) / rate, p.double().numpy()))
        for item, _, _ in batch:
            item.queued -= 1
        batch.clear()

    def finished() -> Iterator[FilePrediction | FileFailure]:
        while order and order[0].streamed and order[0].queued == 0:
            item = order.popleft()
            if item.failure is not None:
                yield FileFailure(item.path, item.failure)
            else:
                item.windows.sort(key=lambda w: w.start)
                yield FilePrediction(item.path, model.classes, item.windows)

    for path in paths:
        item = _Pending(Path(path), [])
        order.append(item)
        try:
            for start, views in stream_windows(item.path, rate, window=window, hop=hop,
                                               mono_views=model.mono_views):  # type: ignore[arg-type]
                if views.shape[-1] < model.min_samples:
                    raise AudioError(item.path, f"too short: {views.shape[-1] / rate:.3f} s; the model needs at least "
                                                f"{model.min_samples / rate:.3f} s ({model.min_samples} samples at "
                                                f"{rate} Hz, one analysis frame of its features)")
                if len(batch) == batch_windows:
                    run_batch()
                    yield from finished()
                batch.append((item, start, views))
                item.queued += 1
        except AudioError as err:
            item.failure = err.problem
        item.streamed = True
        yield from finished()
    run_batch()
    yield from finished()


def predict_file(
    model: WindowModel, path: str | Path, *, window_seconds: float = 10.0, hop_seconds: float = 10.0,
) -> FilePrediction:
    """One prediction per window of ``path`` (see :func:`predict_files`); a problem is an :class:`AudioError`."""
    (result,) = predict_files(model, [path], window_seconds=window_seconds, hop_seconds=hop_seconds)
    if isinstance(result, FileFailure):
        raise AudioError(result.path, result.problem)
    return result


class Predictor:
    """A trained network with its front end, ready for audio (a :class:`WindowModel`)."""

    def __init__(
        self, config: ExperimentConfig, classes: tuple[str, ...] | list[str], normalizers: list[Normalizer],
        model: Network, *, device: str | torch.device = "cpu", batch_size: int = 64,
    ) -> None:
        self.config = config
        self.classes = tuple(classes)
        self.normalizers = list(normalizers)
        self.device = torch.device(device)
        try:
            self.front_end = FrontEnd(config.input, normalizers).to(self.device).eval()
        except ValueError as err:
            raise CheckpointError(str(err)) from None
        self.model = model.to(self.device).eval()
        self.batch_size = batch_size

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, *, device: str | torch.device = "cpu", batch_size: int = 64
    ) -> Predictor:
        saved = checkpoint.read(path)
        model = build_model(saved.config.model)
        try:
            model.load_state_dict(saved.weights)
        except RuntimeError as err:
            raise CheckpointError(f"{path}: weights do not fit the configured network ({err})") from None
        try:
            return cls(saved.config, saved.classes, list(saved.normalizers), model, device=device,
                       batch_size=batch_size)
        except CheckpointError as err:
            raise CheckpointError(f"{path}: {err}") from None

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint that :meth:`from_checkpoint` (and ``stasc predict``/``export``) reads:
        for weights trained outside ``stasc train``, or a model rebuilt from parts."""
        section = checkpoint.stasc_section(self.config, self.classes, self.normalizers)
        return checkpoint.save(path, weights=self.model.state_dict(), section=section)

    @property
    def sample_rate(self) -> int:
        return self.config.input.sample_rate

    @property
    def mono_views(self) -> int:
        return self.config.input.mono_views

    @property
    def min_samples(self) -> int:
        return self.config.input.min_samples

    @torch.inference_mode()
    def window_probabilities(self, views: Tensor | Sequence[Tensor]) -> Tensor:
        """Windows ``(W, V, samples)``, or a list of ``(V, samples)`` of any lengths → the mean patch
        probabilities of each window ``(W, K)``. The patches of every window go through the network
        in one stream of batches of ``batch_size``."""
        spectrograms = [self.front_end.spectrograms(window.to(self.device)[None]) for window in views]
        patches = [self.front_end.patches(self.front_end.normalized(s))[0] for s in spectrograms]  # each V'·P, C, H, Wd
        weights = [self.patch_weights(s) for s in spectrograms]
        counts = [len(p) for p in patches]
        flat = torch.cat(patches)
        warps = self.config.model.test_time_warps
        probs = torch.cat([class_probabilities(self.model, chunk, warps) for chunk in flat.split(self.batch_size)])
        return torch.stack([weighted_mean(part, w) for part, w in zip(probs.split(counts), weights)]).cpu()

    def patch_weights(self, spectrograms: Sequence[Tensor]) -> Tensor | None:
        """One window's patch weights ``(V'·P,)`` from its spectrograms (each ``(1, V', R, T)``), or None for an
        equal mean (``model.patch_weights``)."""
        weights = self.front_end.patch_weights(spectrograms, self.config.model.patch_weights)
        return None if weights is None else weights[0]

    def predict_file(
        self, path: str | Path, *, window_seconds: float = 10.0, hop_seconds: float = 10.0
    ) -> FilePrediction:
        return predict_file(self, path, window_seconds=window_seconds, hop_seconds=hop_seconds)
