"""Export a trained model (a checkpoint, or a run's fold average as one graph) to ONNX or TorchScript.

The exported graph takes ``waveform: Tensor (1, samples)`` float32 at the model's analysis rate
(``sample_rate`` in the metadata): one channel view of one window (see
:func:`stasc.audio.channel_views`), exactly ``window_seconds · sample_rate`` samples long. It
returns ``(n_classes,)``: the mean over the view's patches of their class probabilities (averaged over the
model's test-time warps, :func:`stasc.models.probabilities.class_probabilities`, and over the members of a run);
the mean of that over a window's views is what
:meth:`stasc.inference.Predictor.window_probabilities` computes.

Features whose kind has a graph form (:meth:`FeatureTransform.graph`: MFCC and log-mel, as centred
frames → float64 DFT matmuls → mel matmul → dB → DCT) run inside the graph. A model with any other
(CQT: soxr resampling; HPSS-MFCC: median filters) is exported "from features": the graph then
takes, for each of its features in order (``features_0``, ``features_1``, …: the CQT and the MFCC
of ``cqt-mfcc``), the raw spectrograms ``(views', rows, frames)`` as the transforms give them,
and normalises them itself. ``ExportReport.input_kind`` records which; ``input_shapes`` the shape
of every input. Everything after the spectrograms is the model's own front end
(:meth:`FrontEnd.normalized`, :meth:`FrontEnd.patches`), so export computes what prediction does.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import Tensor, nn

from stasc.atomic import replacing, write_text
from stasc.features.frontend import FrontEnd
from stasc.features.patches import weighted_mean
from stasc.inference import CheckpointError, Predictor
from stasc.models.members import Network
from stasc.models.probabilities import class_probabilities


@dataclass
class ExportReport:
    path: Path
    format: str
    input_kind: str  # "waveform" or "features"
    input_shapes: tuple[tuple[int, ...], ...]  # one per graph input
    sample_rate: int
    window_seconds: float
    classes: tuple[str, ...]
    mono_views: int = 1
    min_samples: int = 1
    members: int = 1  # models averaged in the graph (a run's folds)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The first (for a waveform export, the only) input's shape."""
        return self.input_shapes[0]

    def metadata(self) -> dict[str, str]:
        return {
            "stasc.classes": json.dumps(list(self.classes)),
            "stasc.input_kind": self.input_kind,
            "stasc.input_shape": json.dumps(list(self.input_shape)),
            "stasc.input_shapes": json.dumps([list(shape) for shape in self.input_shapes]),
            "stasc.sample_rate": str(self.sample_rate),
            "stasc.window_seconds": repr(self.window_seconds),
            "stasc.mono_views": str(self.mono_views),
            "stasc.min_samples": str(self.min_samples),
            "stasc.members": str(self.members),
        }


class _Member(nn.Module):
    """One trained model after its spectrograms: front end (normalise, patches) → network → mean probabilities."""

    def __init__(self, front_end: FrontEnd, model: Network, *, test_time_warps: Sequence[float],
                 patch_weights: str) -> None:
        super().__init__()
        self.front_end = front_end
        self.model = model
        self.test_time_warps = tuple(test_time_warps)
        self.patch_weights = patch_weights

    def forward(self, spectrograms: list[Tensor]) -> Tensor:
        """C features × ``(V', R, T)`` → ``(K,)``: the mean over the V'·P patches of their class probabilities
        (weighted as ``model.patch_weights`` says)."""
        batched = [s[None] for s in spectrograms]
        patches = self.front_end.patches(self.front_end.normalized(batched))[0]  # V'·P, C, H, Wd
        weights = self.front_end.patch_weights(batched, self.patch_weights)
        return weighted_mean(class_probabilities(self.model, patches, self.test_time_warps),
                             None if weights is None else weights[0])


class ExportedPipeline(nn.Module):
    """Members' pipelines for one window: ``(V, samples)``, or one spectrogram tensor per feature, → ``(K,)``."""

    def __init__(self, predictors: Sequence[Predictor], *, from_features: bool) -> None:
        super().__init__()
        first = predictors[0]
        self.from_features = from_features
        graphs = [] if from_features else [t.graph() for t in first.front_end.feature_transforms()]
        self.features = nn.ModuleList([g for g in graphs if g is not None])
        self.members = nn.ModuleList([_Member(p.front_end, p.model, test_time_warps=p.config.model.test_time_warps,
                                              patch_weights=p.config.model.patch_weights) for p in predictors])

    def forward(self, *inputs: Tensor) -> Tensor:
        spectrograms = list(inputs) if self.from_features else [f(inputs[0]) for f in self.features]
        return torch.stack([member(spectrograms) for member in self.members]).mean(0)


def export_model(
    predictors: Sequence[Predictor], out: Path, *, format: Literal["onnx", "torchscript"] = "onnx",
    window_seconds: float = 10.0,
) -> ExportReport:
    """Export one model, or the average of a run's members, to ``out`` (plus a JSON sidecar ``out.json``)."""
    if format not in ("onnx", "torchscript"):
        raise ValueError(f"format must be 'onnx' or 'torchscript', got {format!r}")
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be positive, got {window_seconds}")
    if not predictors:
        raise CheckpointError(f"{out}: no model to export")
    first = predictors[0]
    if any(p.config.input != first.config.input or p.classes != first.classes for p in predictors[1:]):
        raise CheckpointError("the models to average differ in their input or classes; export them one by one")
    from_features = any(t.graph() is None for t in first.front_end.feature_transforms())
    rate = first.sample_rate
    n_samples = max(1, round(window_seconds * rate))
    waveform = torch.zeros(1, n_samples)  # one view per call: a window's probabilities are the mean over its views
    with torch.no_grad():
        examples = first.front_end.spectrograms(waveform) if from_features else [waveform]  # V', R, T each
    pipeline = ExportedPipeline(predictors, from_features=from_features).eval()
    report = ExportReport(
        Path(out), format, "features" if from_features else "waveform", tuple(tuple(e.shape) for e in examples), rate,
        float(window_seconds), first.classes, first.mono_views, first.min_samples, len(predictors),
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with replacing(out) as tmp, warnings.catch_warnings():  # written whole, then renamed
        # the window's shapes are fixed by design (one graph per window length); TorchScript is still
        # what libtorch deployments load, deprecated in Python or not
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message=r".*torch\.jit\.\w+` is deprecated.*")
        if format == "onnx":
            _export_onnx(pipeline, examples, tmp, report)
        else:
            traced = torch.jit.trace(pipeline, tuple(examples), check_trace=False)
            torch.jit.save(traced, str(tmp), _extra_files={"stasc.json": json.dumps(report.metadata())})
    write_text(Path(f"{out}.json"), json.dumps({**asdict(report), "path": str(report.path)}, indent=2))
    return report


def _export_onnx(pipeline: nn.Module, examples: list[Tensor], out: Path, report: ExportReport) -> None:
    import onnx

    names = ["input"] if report.input_kind == "waveform" else [f"features_{c}" for c in range(len(examples))]
    with torch.no_grad():
        program = torch.onnx.export(pipeline, tuple(examples), dynamo=True, input_names=names,
                                    output_names=["probabilities"])
    if program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    model = program.model_proto
    for key, value in report.metadata().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(out))

