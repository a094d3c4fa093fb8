"""Prediction on new audio: ``Predictor.from_checkpoint(path).predict_file(...)``.

A checkpoint holds the weights, the resolved configuration, the normalisation statistics and the
class names, so nothing else is needed. A recording is cut into windows of ``window_seconds``
(default 10 s, the training clip length) every ``hop_seconds``; the last window is aligned to the
end of the recording so every window is full length (a recording shorter than one window is one
window). A window's probabilities are the mean over all its patches and views (SPEC §4); the
file's are the mean over its windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from stasc.audio import channel_views, load, resample
from stasc.config import ExperimentConfig, experiment_from_dict
from stasc.features.patches import Normalizer, clip_normalize, cut_patches, patch_starts, resize_patches
from stasc.features.transforms import build_transform
from stasc.models import build_model

REQUIRED_KEYS = ("config", "classes", "normalizers")


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable or lacks what prediction needs."""


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


def window_starts(n_samples: int, window: int, hop: int) -> list[int]:
    """Window start samples: every ``hop`` while a window fits, plus one aligned to the end."""
    if window < 1 or hop < 1:
        raise ValueError(f"window and hop must be positive, got {window}, {hop}")
    return patch_starts(n_samples, width=window, shift=hop)  # the same rule as patches over frames


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The ``stasc`` section and weights of a checkpoint, or a :class:`CheckpointError` saying what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from err
    if not isinstance(raw, dict) or "stasc" not in raw or "state_dict" not in raw:
        raise CheckpointError(f"{path}: not a stasc checkpoint (no 'stasc' section or no weights)")
    section = raw["stasc"]
    missing = [key for key in REQUIRED_KEYS if key not in section]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    return {**section, "state_dict": raw["state_dict"]}


class Predictor:
    """A trained network with its feature pipeline, ready for audio files."""

    def __init__(
        self,
        config: ExperimentConfig,
        classes: list[str],
        normalizers: list[Normalizer],
        model: nn.Module,
        *,
        device: str | torch.device = "cpu",
        batch_size: int = 64,
    ) -> None:
        if len(normalizers) != len(config.input.features):
            raise CheckpointError(f"{len(normalizers)} normalisers for {len(config.input.features)} features")
        self.config = config
        self.classes = tuple(classes)
        self.normalizers = normalizers
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.transforms = [build_transform(spec).to(self.device) for spec in config.input.features]
        self.batch_size = batch_size

    @classmethod
    def from_checkpoint(cls, path: str | Path, *, device: str | torch.device = "cpu", batch_size: int = 64) -> Predictor:
        saved = read_checkpoint(path)
        try:
            config = experiment_from_dict(saved["config"])
            normalizers = [Normalizer.from_dict(n) for n in saved["normalizers"]]
        except ValueError as err:
            raise CheckpointError(f"{path}: {err}") from err
        if config.model.n_classes != len(saved["classes"]):
            raise CheckpointError(
                f"{path}: the network has {config.model.n_classes} outputs but {len(saved['classes'])} class names"
            )
        model = build_model(config.model)
        weights = {k.removeprefix("model."): v for k, v in saved["state_dict"].items() if k.startswith("model.")}
        try:
            model.load_state_dict(weights)
        except RuntimeError as err:
            raise CheckpointError(f"{path}: weights do not fit the configured network ({err})") from err
        return cls(config, saved["classes"], normalizers, model, device=device, batch_size=batch_size)

    def save(self, path: str | Path) -> Path:
        """Write a checkpoint that :meth:`from_checkpoint` (and ``stasc predict``/``export``) reads:
        for weights trained outside ``stasc train``, or a model rebuilt from parts."""
        from stasc.config import to_dict
        from stasc.versions import versions

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {f"model.{k}": v.detach().cpu() for k, v in self.model.state_dict().items()}
        section = {"config": to_dict(self.config), "classes": list(self.classes),
                   "normalizers": [n.to_dict() for n in self.normalizers], "versions": versions()}
        tmp = path.with_name(f".{path.name}.tmp")
        torch.save({"state_dict": state, "stasc": section}, tmp)
        tmp.replace(path)  # atomic: a reader never sees half a checkpoint
        return path

    @property
    def sample_rate(self) -> int:
        return self.config.input.features[0].sample_rate

    def inputs(self, views: Tensor) -> Tensor:
        """Network inputs of windows: ``views (W, V, samples)`` → ``(W, V'·P, C, H, W)`` patches."""
        stacked = []
        for spec_transform, normalizer in zip(self.transforms, self.normalizers):
            spectrograms = clip_normalize(spec_transform(views), self.config.input.clip_norm)  # W, V', R, T
            normalized = normalizer.apply(spectrograms.unsqueeze(2)).squeeze(2)  # per coefficient
            patches = cut_patches(normalized, width=self.config.input.patch_width, shift=self.config.input.patch_shift)
            patches = resize_patches(patches, tuple(self.config.input.patch_size))  # W, V', P, H, W
            stacked.append(patches.flatten(1, 2))  # W, V'·P, H, W
        return torch.stack(stacked, dim=2)  # W, V'·P, C, H, W

    @torch.inference_mode()
    def window_probabilities(self, views: Tensor) -> Tensor:
        """``views (W, V, samples)`` → mean patch probabilities per window ``(W, K)``."""
        patches = self.inputs(views.to(self.device))
        n_windows, per_window = patches.shape[:2]
        flat = patches.flatten(0, 1)
        probs = torch.cat([self.model(chunk).float().softmax(-1) for chunk in flat.split(self.batch_size)])
        return probs.reshape(n_windows, per_window, -1).mean(1).cpu()

    def predict_waveform(
        self, samples: np.ndarray, sample_rate: int, *, window_seconds: float = 10.0, hop_seconds: float = 10.0
    ) -> list[WindowPrediction]:
        """``samples (channels, n)`` at any rate → one prediction per window."""
        rate = self.sample_rate
        samples = resample(np.asarray(samples, dtype=np.float32), sample_rate, rate)
        views = channel_views(torch.from_numpy(samples), mono_views=self.config.input.mono_views)
        window = max(1, round(window_seconds * rate))
        starts = window_starts(views.shape[-1], window, max(1, round(hop_seconds * rate)))
        length = min(window, views.shape[-1])
        results: list[WindowPrediction] = []
        for chunk in [starts[i : i + 8] for i in range(0, len(starts), 8)]:
            batch = torch.stack([views[:, s : s + length] for s in chunk])
            for start, probs in zip(chunk, self.window_probabilities(batch)):
                results.append(WindowPrediction(start / rate, (start + length) / rate, probs.double().numpy()))
        return results

    def predict_file(self, path: str | Path, *, window_seconds: float = 10.0, hop_seconds: float = 10.0) -> FilePrediction:
        audio = load(path)
        windows = self.predict_waveform(
            audio.samples, audio.sample_rate, window_seconds=window_seconds, hop_seconds=hop_seconds
        )
        return FilePrediction(Path(path), self.classes, windows)


class FoldAverage:
    """The models of every finished split of a run, their window probabilities averaged."""

    def __init__(self, predictors: list[Predictor]) -> None:
        if not predictors:
            raise CheckpointError("no model to average")
        self.predictors = predictors
        self.classes = predictors[0].classes

    def predict_file(self, path: str | Path, *, window_seconds: float = 10.0, hop_seconds: float = 10.0) -> FilePrediction:
        results = [p.predict_file(path, window_seconds=window_seconds, hop_seconds=hop_seconds) for p in self.predictors]
        return _combine(results, np.mean)


class MajorityEnsemble:
    """Runs voting per window with the paper's majority vote (ties: summed probabilities)."""

    def __init__(self, members: list[FoldAverage]) -> None:
        if len(members) < 2:
            raise CheckpointError("an ensemble needs at least 2 members")
        if any(m.classes != members[0].classes for m in members):
            raise CheckpointError("ensemble members disagree on the class list")
        self.members = members
        self.classes = members[0].classes

    def predict_file(self, path: str | Path, *, window_seconds: float = 10.0, hop_seconds: float = 10.0) -> FilePrediction:
        from stasc.evaluation.votes import majority_shares

        results = [m.predict_file(path, window_seconds=window_seconds, hop_seconds=hop_seconds) for m in self.members]
        return _combine(results, lambda stacked, axis: majority_shares(stacked))


def _combine(results: list[FilePrediction], reduce) -> FilePrediction:  # type: ignore[no-untyped-def]
    """Window-wise combination of several models' predictions of one file."""
    first = results[0]
    windows = []
    for index, window in enumerate(first.windows):
        stacked = np.stack([r.windows[index].probabilities for r in results])[:, None]  # M, 1, K
        windows.append(WindowPrediction(window.start, window.end, np.asarray(reduce(stacked, axis=0))[0]))
    return FilePrediction(first.path, first.classes, windows)


def load_model(path: str | Path, *, device: str = "cpu", batch_size: int = 64):  # type: ignore[no-untyped-def]
    """What ``stasc predict --model`` accepts: a checkpoint, a run folder (its split models
    averaged), an ensemble folder (majority vote of its runs) or an exported ``.onnx`` file."""
    path = Path(path)
    if path.is_file() and path.suffix == ".onnx":
        from stasc.export import OnnxPredictor  # onnxruntime is only needed for exported models

        return OnnxPredictor(path)
    if path.is_file():
        return Predictor.from_checkpoint(path, device=device, batch_size=batch_size)
    if (path / "ensemble.json").is_file():
        from stasc.ensemble import ensemble_members

        return MajorityEnsemble([_run_models(run, device, batch_size) for run in ensemble_members(path)])
    if path.is_dir():
        return _run_models(path, device, batch_size)
    raise CheckpointError(f"{path}: no such checkpoint, run folder, ensemble folder or .onnx file")


def _run_models(run: Path, device: str, batch_size: int) -> FoldAverage:
    checkpoints = sorted(run.glob("*/checkpoints/best.ckpt"))
    finished = [c for c in checkpoints if (c.parent.parent / "result.json").is_file()]
    if not finished:
        raise CheckpointError(f"{run}: no finished split with checkpoints/best.ckpt; train it first")
    return FoldAverage([Predictor.from_checkpoint(c, device=device, batch_size=batch_size) for c in finished])
