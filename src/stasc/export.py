"""Export a trained model to ONNX or TorchScript: one window of channel views in, probabilities out.

The exported graph takes ``waveform: Tensor (1, samples)`` float32 at the checkpoint's analysis
rate (``sample_rate`` in the metadata): one channel view of one window (see
:func:`stasc.audio.channel_views`), exactly ``window_seconds · sample_rate`` samples long. It
returns ``(n_classes,)``: the mean over the view's patches of ``softmax(logits)``; the mean of that
over a window's views is what :meth:`stasc.inference.Predictor.window_probabilities` computes.

MFCC and log-mel features run inside the graph (pad → frames → float64 DFT as a matmul → power →
dense mel matmul → log10 → top_db floor → DCT). CQT (soxr resampling) and HPSS-MFCC (median
filters) do not export; a model using one is exported "from features": the graph then takes, for
each of its features in order (``features_0``, ``features_1``, … : the CQT and the MFCC of
``cqt-mfcc``), the raw (unnormalised) spectrograms ``(views', rows, frames)`` as the transforms
give them, and normalises them itself. ``ExportReport.input_kind`` records which;
``input_shapes`` the shape of every input.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from stasc.audio import channel_views, load, resample
from stasc.features import functional as F
from stasc.features.patches import clip_normalize, patch_starts
from stasc.inference import CheckpointError, FilePrediction, Predictor, WindowPrediction, window_starts

WAVEFORM_KINDS = ("mfcc", "logmel")


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
        }


class _WaveformFeatures(nn.Module):
    """MFCC / log-mel of ``Tensor (V, samples)`` → ``(V, rows, frames)`` with export-friendly ops."""

    def __init__(self, transform: nn.Module) -> None:
        super().__init__()
        spec = transform.spec
        self.n_fft, self.hop_length, self.top_db, self.kind = spec.n_fft, spec.hop_length, spec.top_db, spec.kind
        n_bins = self.n_fft // 2 + 1
        angle = 2 * math.pi * np.outer(np.arange(self.n_fft), np.arange(n_bins)) / self.n_fft
        window = transform.window.double().numpy()[:, None]
        self.register_buffer("dft_cos", torch.from_numpy(np.cos(angle) * window))  # N, F, window folded in
        self.register_buffer("dft_sin", torch.from_numpy(-np.sin(angle) * window))
        self.register_buffer("mel_basis", transform.mel_basis.double().clone())
        self.register_buffer("dct_basis", transform.dct_basis.double().clone())

    def forward(self, waveform: Tensor) -> Tensor:
        signals = waveform.double()  # V, S
        padded = nn.functional.pad(signals, (self.n_fft // 2, self.n_fft // 2))
        frames = padded.unfold(-1, self.n_fft, self.hop_length)  # V, T, N
        power = torch.matmul(frames, self.dft_cos).square() + torch.matmul(frames, self.dft_sin).square()  # V, T, F
        mel = torch.matmul(self.mel_basis, power.transpose(-1, -2))  # V, M, T
        db = F.power_to_db(mel, top_db=self.top_db)
        out = db if self.kind == "logmel" else torch.matmul(self.dct_basis, db)
        return out.float()


class ExportedPipeline(nn.Module):
    """A :class:`Predictor`'s pipeline for one window: ``(V, samples)``, or one spectrogram tensor
    per feature, → ``(K,)``."""

    def __init__(self, predictor: Predictor, *, n_frames: list[int], from_features: bool) -> None:
        super().__init__()
        config = predictor.config.input
        self.from_features = from_features
        self.clip_norm = config.clip_norm
        self.features = nn.ModuleList([] if from_features else [_WaveformFeatures(t) for t in predictor.transforms])
        # per feature: their row counts differ (CQT 110, MFCC 128)
        for c, normalizer in enumerate(predictor.normalizers):
            self.register_buffer(f"mean_{c}", torch.as_tensor(normalizer.mean)[0])  # R
            self.register_buffer(f"std_{c}", torch.as_tensor(normalizer.std)[0])
        self.n_features = len(predictor.normalizers)
        self.width = config.patch_width
        self.starts = [patch_starts(max(t, self.width), width=self.width, shift=config.patch_shift) for t in n_frames]
        if len({len(s) for s in self.starts}) != 1:
            raise CheckpointError(f"features give different patch counts per window: {[len(s) for s in self.starts]}")
        self.size = tuple(config.patch_size)
        self.model = predictor.model

    def forward(self, *inputs: Tensor) -> Tensor:
        """V views, C features, R rows, T frames, P patches, K classes."""
        if self.from_features:
            spectrograms = list(inputs)  # C × (V, R, T)
        else:
            spectrograms = [f(inputs[0]) for f in self.features]
        channels = []
        for c, spectrogram in enumerate(spectrograms):
            # over the window's frames, as in Predictor; (V, 1, R, T) as the normaliser's layout
            spectrogram = clip_normalize(spectrogram.unsqueeze(1), self.clip_norm).squeeze(1)
            normalized = (spectrogram - getattr(self, f"mean_{c}")[:, None]) / getattr(self, f"std_{c}")[:, None]
            if normalized.shape[-1] < self.width:
                normalized = nn.functional.pad(normalized, (0, self.width - normalized.shape[-1]))
            patches = torch.stack([normalized[..., s : s + self.width] for s in self.starts[c]], dim=1)  # V, P, R, W
            flat = patches.flatten(0, 1).unsqueeze(1)  # V·P, 1, R, W
            if tuple(flat.shape[-2:]) != self.size:
                flat = nn.functional.interpolate(flat, size=self.size, mode="bilinear", align_corners=False)
            channels.append(flat)
        return self.model(torch.cat(channels, dim=1)).float().softmax(-1).mean(0)  # V·P, C, H, W → K


def export_model(
    checkpoint: Path, out: Path, *, format: Literal["onnx", "torchscript"] = "onnx", window_seconds: float = 10.0
) -> ExportReport:
    """Export ``checkpoint`` to ``out`` (plus a JSON sidecar ``out.json`` with the metadata)."""
    if format not in ("onnx", "torchscript"):
        raise ValueError(f"format must be 'onnx' or 'torchscript', got {format!r}")
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be positive, got {window_seconds}")
    predictor = Predictor.from_checkpoint(checkpoint)
    specs = predictor.config.input.features
    from_features = any(spec.kind not in WAVEFORM_KINDS for spec in specs)
    rate = predictor.sample_rate
    n_views = 1  # one view per call: a window's probabilities are the mean over its views of the outputs
    n_samples = max(1, round(window_seconds * rate))
    waveform = torch.zeros(n_views, n_samples)
    with torch.no_grad():
        examples = [t(waveform) for t in predictor.transforms] if from_features else [waveform]  # V', R, T each
    n_frames = [e.shape[-1] for e in examples] if from_features else [F.frame_count(n_samples, s.hop_length) for s in specs]
    pipeline = ExportedPipeline(predictor, n_frames=n_frames, from_features=from_features).eval()
    report = ExportReport(
        Path(out), format, "features" if from_features else "waveform", tuple(tuple(e.shape) for e in examples), rate,
        float(window_seconds), predictor.classes, predictor.config.input.mono_views,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")  # written whole, then renamed: never a half-written model
    if format == "onnx":
        _export_onnx(pipeline, examples, tmp, report)
    else:
        traced = torch.jit.trace(pipeline, tuple(examples), check_trace=False)
        torch.jit.save(traced, str(tmp), _extra_files={"stasc.json": json.dumps(report.metadata())})
    tmp.replace(out)
    sidecar = {**asdict(report), "path": str(report.path)}
    Path(f"{out}.json").write_text(json.dumps(sidecar, indent=2))
    return report


def _export_onnx(pipeline: nn.Module, examples: list[Tensor], out: Path, report: ExportReport) -> None:
    import onnx

    names = ["input"] if report.input_kind == "waveform" else [f"features_{c}" for c in range(len(examples))]
    with torch.no_grad():
        program = torch.onnx.export(
            pipeline, tuple(examples), dynamo=True, input_names=names, output_names=["probabilities"]
        )
    model = program.model_proto
    for key, value in report.metadata().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(out))


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``stasc.*`` metadata of an exported ``.onnx`` or TorchScript file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: exported model not found")
    try:
        if path.suffix == ".onnx":
            import onnx

            model = onnx.load(str(path), load_external_data=False)
            meta = {p.key: p.value for p in model.metadata_props}
        else:
            extra = {"stasc.json": ""}
            torch.jit.load(str(path), _extra_files=extra)
            meta = json.loads(extra["stasc.json"] or "{}")
    except Exception as err:  # onnx / torch raise many types for a damaged file
        raise CheckpointError(f"{path}: not a readable exported model ({type(err).__name__}: {err})") from err
    if "stasc.classes" not in meta:
        raise CheckpointError(f"{path}: no stasc metadata; export it with `stasc export`")
    return meta


class OnnxPredictor:
    """An exported ``.onnx`` model run with onnxruntime; ``predict_file`` as :class:`Predictor`'s.

    Only waveform-input exports can predict files; a features-input export needs the caller to
    compute the spectrograms.
    """

    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        import onnxruntime

        self.path = Path(path)
        meta = read_metadata(self.path)
        self.classes = tuple(json.loads(meta["stasc.classes"]))
        self.input_kind = meta["stasc.input_kind"]
        self.input_shape = tuple(json.loads(meta["stasc.input_shape"]))
        shapes = json.loads(meta.get("stasc.input_shapes", "null")) or [list(self.input_shape)]  # older exports: one
        self.input_shapes = [tuple(shape) for shape in shapes]
        self.sample_rate = int(meta["stasc.sample_rate"])
        self.window_seconds = float(meta["stasc.window_seconds"])
        self.mono_views = int(meta.get("stasc.mono_views", "1"))
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def window_probabilities(self, window: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """One window ``(V, samples)``, or its features (``(V', R, T)``, a list of them for a model
        of several features, in the model's order) → ``(K,)``: the mean over its views."""
        parts = list(window) if isinstance(window, (list, tuple)) else [window]
        if len(parts) != len(self.input_names):
            raise ValueError(f"{self.path}: takes {len(self.input_names)} inputs {self.input_names}, got {len(parts)}")
        n_views = {len(p) for p in parts}
        if len(n_views) != 1:
            raise ValueError(f"{self.path}: the inputs have different view counts {[len(p) for p in parts]}")
        probabilities = [
            self.session.run(None, {name: np.ascontiguousarray(part[v][None], dtype=np.float32)
                                    for name, part in zip(self.input_names, parts)})[0]
            for v in range(n_views.pop())
        ]
        return np.mean(probabilities, axis=0)

    def predict_file(self, path: str | Path, *, window_seconds: float = 10.0, hop_seconds: float = 10.0) -> FilePrediction:
        if self.input_kind != "waveform":
            raise CheckpointError(f"{self.path}: exported from features; it cannot predict audio files directly")
        audio = load(path)
        rate = self.sample_rate
        samples = resample(np.asarray(audio.samples, dtype=np.float32), audio.sample_rate, rate)
        views = channel_views(torch.from_numpy(samples), mono_views=self.mono_views).numpy()
        window = self.input_shape[-1]
        if abs(window_seconds - window / rate) > 1 / rate:
            raise ValueError(
                f"{self.path}: exported for {window / rate:g}-s windows, got window_seconds={window_seconds}"
            )
        length = min(window, views.shape[-1])
        starts = window_starts(views.shape[-1], window, max(1, round(hop_seconds * rate)))
        if views.shape[-1] < window:  # the graph's length is fixed: zero-padded, unlike Predictor's short window
            warnings.warn(f"{path}: shorter than the exported {window / rate:g}-s window; zero-padded", stacklevel=2)
            views = np.pad(views, ((0, 0), (0, window - views.shape[-1])))
        windows = [
            WindowPrediction(s / rate, (s + length) / rate,
                             self.window_probabilities(views[:, s : s + window]).astype(np.float64))
            for s in starts
        ]
        return FilePrediction(Path(path), self.classes, windows)
