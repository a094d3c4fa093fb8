"""What ``--model`` accepts, one dispatcher above the runtimes: a checkpoint, a run folder (its
model: the final one, else its folds' average), an ensemble folder (majority vote of its runs) or
an exported ``.onnx`` file."""

from __future__ import annotations

from pathlib import Path

import torch

from stasc.ensemble import averaged, ensemble_members, is_ensemble, majority
from stasc.inference import CheckpointError, Predictor, WindowModel
from stasc.runs import RunDir


def check_device(device: str) -> str:
    """``device`` when this machine has it; a clear error for a GPU that is not there."""
    try:
        parsed = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"--device {device}: not a device name (cpu, cuda, cuda:N): {err}") from None
    if parsed.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {device}: this machine has no CUDA device (or this torch build has no CUDA)")
        if parsed.index is not None and parsed.index >= torch.cuda.device_count():
            raise ValueError(f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here")
    return device


def run_predictors(run: Path, *, device: str = "cpu", batch_size: int = 64) -> list[Predictor]:
    """The models that make a run's model (:meth:`RunDir.model_checkpoints`)."""
    checkpoints = RunDir(run).model_checkpoints()
    if not checkpoints:
        raise CheckpointError(f"{run}: no finished split with checkpoints/best.ckpt; train it first")
    return [Predictor.from_checkpoint(c, device=device, batch_size=batch_size) for c in checkpoints]


def model_predictors(path: Path, *, device: str = "cpu", batch_size: int = 64) -> list[Predictor]:
    """A checkpoint's model, or a run folder's models (for export and explain, which need PyTorch models)."""
    path = Path(path)
    check_device(device)
    if not path.exists():
        raise CheckpointError(f"{path}: not found (no such checkpoint or run folder)")
    if path.is_file():
        return [Predictor.from_checkpoint(path, device=device, batch_size=batch_size)]
    if RunDir.is_run(path):
        return run_predictors(path, device=device, batch_size=batch_size)
    raise CheckpointError(f"{path}: neither a checkpoint nor a run folder (no config.yaml)")


def load_model(path: str | Path, *, device: str = "cpu", batch_size: int = 64) -> WindowModel:
    """The model ``--model PATH`` names (see the module docstring)."""
    path = Path(path)
    check_device(device)
    if path.is_file() and path.suffix == ".onnx":
        from stasc.exported import OnnxModel  # onnxruntime is only needed for exported models

        return OnnxModel(path, device=device)
    if is_ensemble(path):
        return majority([_one(run, device, batch_size) for run in ensemble_members(path)], what=str(path))
    if path.is_file() or RunDir.is_run(path):
        return _one(path, device, batch_size)
    what = ("not found" if not path.exists()
            else "neither a checkpoint, a run folder, an ensemble folder nor an .onnx file")
    raise CheckpointError(f"{path}: {what}")


def _one(path: Path, device: str, batch_size: int) -> WindowModel:
    predictors = model_predictors(path, device=device, batch_size=batch_size)
    return predictors[0] if len(predictors) == 1 else averaged(predictors, what=str(path))
