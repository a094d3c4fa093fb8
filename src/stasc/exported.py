"""Running an exported model: ``.onnx`` files with onnxruntime, as a :class:`~stasc.inference.WindowModel`.

Only waveform-input exports can predict audio files; a features-input export (CQT, HPSS models)
takes spectrograms the caller computes (:meth:`OnnxModel.features_probabilities`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from stasc.inference import CheckpointError, FilePrediction, predict_file


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
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r".*torch\.jit\.load` is deprecated.*")
                torch.jit.load(str(path), _extra_files=extra)
            meta = json.loads(extra["stasc.json"] or "{}")
    except Exception as err:  # onnx / torch raise many types for a damaged file
        raise CheckpointError(f"{path}: not a readable exported model ({type(err).__name__}: {err})") from err
    if "stasc.classes" not in meta:
        raise CheckpointError(f"{path}: no stasc metadata; export it with `stasc export`")
    return meta


def onnx_providers(device: str) -> list[str]:
    """onnxruntime's execution providers for ``device`` (``cuda``/``cuda:N`` → CUDA first when the
    installed onnxruntime has it; else a clear error)."""
    import onnxruntime

    if not device.startswith("cuda"):
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        raise CheckpointError(f"--device {device}: this onnxruntime has no CUDA provider "
                              "(install onnxruntime-gpu, or predict on the cpu)")
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class OnnxModel:
    """An exported ``.onnx`` model run with onnxruntime."""

    def __init__(self, path: str | Path, *, device: str = "cpu", threads: int | None = None) -> None:
        import onnxruntime

        self.path = Path(path)
        meta = read_metadata(self.path)
        self.classes = tuple(json.loads(meta["stasc.classes"]))
        self.input_kind = meta["stasc.input_kind"]
        self.input_shapes = [tuple(shape) for shape in json.loads(meta["stasc.input_shapes"])]
        self.sample_rate = int(meta["stasc.sample_rate"])
        self.window_seconds = float(meta["stasc.window_seconds"])
        self.mono_views = int(meta["stasc.mono_views"])
        self.min_samples = int(meta.get("stasc.min_samples", "1"))
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(str(self.path), options, providers=onnx_providers(device))
        self.input_names = [i.name for i in self.session.get_inputs()]

    @property
    def window(self) -> int:
        """Samples of the graph's fixed waveform input."""
        return int(self.input_shapes[0][-1])

    def features_probabilities(self, parts: list[np.ndarray]) -> np.ndarray:
        """One window's inputs (the waveform views ``(V, samples)``, or each feature's spectrograms
        ``(V', R, T)`` in the model's order) → ``(K,)``: the mean of the graph's output over its views."""
        if len(parts) != len(self.input_names):
            raise ValueError(f"{self.path}: takes {len(self.input_names)} inputs {self.input_names}, got {len(parts)}")
        n_views = {len(p) for p in parts}
        if len(n_views) != 1:
            raise ValueError(f"{self.path}: the inputs have different view counts {[len(p) for p in parts]}")
        per_view = [self.session.run(None, {name: np.ascontiguousarray(part[v][None], dtype=np.float32)
                                            for name, part in zip(self.input_names, parts)})[0]
                    for v in range(n_views.pop())]
        return np.mean(per_view, axis=0)

    def window_probabilities(self, views: Tensor | Sequence[Tensor]) -> Tensor:
        """Windows ``(W, V, samples)`` or a list of ``(V, samples)`` → ``(W, K)``; a window shorter than the
        graph's fixed input is zero-padded (unlike a :class:`~stasc.inference.Predictor`'s short window)."""
        if self.input_kind != "waveform":
            raise CheckpointError(f"{self.path}: exported from features; it cannot predict audio files directly")
        out = []
        for window in (w.numpy() for w in views):
            if window.shape[-1] < self.window:
                warnings.warn(f"{self.path}: a recording shorter than the exported "
                              f"{self.window / self.sample_rate:g}-s window is zero-padded", stacklevel=2)
                window = np.pad(window, ((0, 0), (0, self.window - window.shape[-1])))
            out.append(self.features_probabilities([window]))
        return torch.from_numpy(np.stack(out))

    def predict_file(self, path: str | Path, *, window_seconds: float | None = None, hop_seconds: float | None = None,
                     ) -> FilePrediction:
        if self.input_kind != "waveform":
            raise CheckpointError(f"{self.path}: exported from features; it cannot predict audio files directly")
        window_seconds = self.window_seconds if window_seconds is None else window_seconds
        if abs(window_seconds - self.window / self.sample_rate) > 1 / self.sample_rate:
            raise ValueError(f"{self.path}: exported for {self.window / self.sample_rate:g}-s windows, "
                             f"got window_seconds={window_seconds}")
        return predict_file(self, path, window_seconds=window_seconds,
                            hop_seconds=window_seconds if hop_seconds is None else hop_seconds)
