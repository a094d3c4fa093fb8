"""Checkpoints are data: a file that would run code when loaded is refused by every command that opens
one, and its payload never runs; genuine checkpoints of every preset load."""

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import FSDD
from stasc import checkpoint
from stasc.cli import main
from stasc.config import load_experiment, preset_names
from stasc.features.patches import Normalizer
from stasc.inference import Predictor
from stasc.models import build_model
from stasc.runs import RunDir


class Payload:
    """What an attacker adds to a genuine checkpoint: unpickling it runs a shell command."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def trojan(genuine: Path, out: Path, marker: Path) -> Path:
    raw = torch.load(genuine, weights_only=True)
    raw["stasc"]["extra"] = Payload(marker)
    torch.save(raw, out)
    return out


def test_a_trojan_checkpoint_is_refused_everywhere_and_its_payload_never_runs(
        trained_sample_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    marker = tmp_path / "PWNED"
    genuine = RunDir(trained_sample_run).split("fold-0").best
    bad = trojan(genuine, tmp_path / "model.ckpt", marker)
    clip = str(FSDD / "recordings" / "2_jackson_3.wav")
    run = tmp_path / "run"  # a run folder with the trojan in place of a fold's model
    shutil.copytree(trained_sample_run, run, ignore=shutil.ignore_patterns("tensorboard"))
    trojan(genuine, RunDir(run).split("fold-1").best, marker)
    for command in (["predict", "--model", str(bad), clip, "--no-progress"],
                    ["export", "--model", str(bad), "--out", str(tmp_path / "m.onnx")],
                    ["explain", "--model", str(bad), clip, "--out", str(tmp_path / "e.png")],
                    ["info", str(bad)],
                    ["predict", "--model", str(run), clip, "--no-progress"]):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert "refused: the file holds objects that would run code" in err and "posix.system" in err, err
        assert str(bad) in err or "fold-1" in err  # the file is named
    assert not marker.exists()  # the shell command never ran


@pytest.mark.parametrize("preset", preset_names())
def test_a_genuine_checkpoint_of_every_preset_loads_with_identical_logits(preset: str, tmp_path: Path) -> None:
    config = load_experiment(preset, {"model": {"width_multiplier": 0.0625}})
    torch.manual_seed(0)
    model = build_model(config.model).eval()
    normalizers = [Normalizer(np.zeros(s.n_rows), np.ones(s.n_rows)) for s in config.input.features]
    path = Predictor(config, [str(i) for i in range(config.model.n_classes)], normalizers, model).save(
        tmp_path / "m.ckpt")
    loaded = Predictor.from_checkpoint(path)
    x = torch.randn(2, config.model.in_channels, *config.model.input_size)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), model(x), rtol=0, atol=0)
    assert checkpoint.read(path).config == config
