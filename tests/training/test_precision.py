"""The training precision: what ``train.precision: auto`` resolves to on each machine, and a bfloat16 run on CPU
that keeps float32 weights and probabilities and records the precision it ran in."""

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import FSDD, TINY, fsdd_subset
from stasc import checkpoint
from stasc.cli import main
from stasc.config import load_experiment
from stasc.evaluation.predictions import read_predictions
from stasc.runs import RunDir
from stasc.training import precision


def resolved(monkeypatch: pytest.MonkeyPatch, *, cuda: bool, native_bf16: bool, **train: object) -> str:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: native_bf16)
    return precision.training_precision(load_experiment("envsound", {"train": train}).train)


@pytest.mark.parametrize(("cuda", "native_bf16", "expected"), [
    (True, False, "bf16-mixed"),
    (False, True, "bf16-mixed"),  # AMX / AVX512-BF16: oneDNN runs bfloat16 convolutions natively
    (False, False, "32-true"),  # elsewhere bfloat16 is emulated, slower than float32
])
def test_auto_is_bfloat16_where_the_hardware_computes_it_natively(
        monkeypatch: pytest.MonkeyPatch, cuda: bool, native_bf16: bool, expected: str) -> None:
    assert resolved(monkeypatch, cuda=cuda, native_bf16=native_bf16) == expected


def test_a_cpu_run_on_a_gpu_machine_follows_the_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolved(monkeypatch, cuda=True, native_bf16=False, accelerator="cpu") == "32-true"


@pytest.mark.parametrize("chosen", ["32-true", "bf16-mixed", "16-mixed"])
def test_an_explicit_precision_is_kept_whatever_the_machine(monkeypatch: pytest.MonkeyPatch, chosen: str) -> None:
    assert resolved(monkeypatch, cuda=False, native_bf16=False, precision=chosen) == chosen


def test_native_bf16_detection_answers_a_bool() -> None:
    assert isinstance(precision.cpu_has_native_bf16(), bool)


def test_a_bfloat16_cpu_run_keeps_float32_weights_and_records_its_precision(tmp_path: Path) -> None:
    data = fsdd_subset(tmp_path, 2)
    assert main(["train", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample",
                 "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "cache"), "--fold", "0", "--k", "5",
                 "--no-progress", *TINY, "--set", "train.precision=bf16-mixed"]) == 0
    split = RunDir(tmp_path / "run").split("fold-0")
    assert split.read_result()["precision"] == "bf16-mixed"
    # autocast computes in bfloat16 but the weights (and so the checkpoint, export and inference) stay float32
    weights = checkpoint.load_data(split.last)["state_dict"]
    assert {tensor.dtype for tensor in weights.values() if tensor.is_floating_point()} == {torch.float32}
    probabilities = read_predictions(split.predictions).probabilities
    assert np.all(np.isfinite(probabilities)) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-6)
