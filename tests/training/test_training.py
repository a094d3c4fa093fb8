"""Training end to end on real data: checkpoints, resume, DDP, bad configs, predictions."""

import csv
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from stasc.cli import main
from stasc.config import ConfigError, load_experiment, parse_assignments
from stasc.inference import CheckpointError, Predictor, read_checkpoint
from stasc.sample import sample_dir

# the bundled sample (real speech, 1,000 clips); a tiny network and two epochs keep it quick
TINY = ["--set", "train.max_epochs=2", "--set", "model.width_multiplier=0.0625", "--set", "train.batch_size=32"]


def sample_subset(tmp_path: Path, per_class_and_speaker: int = 4) -> Path:
    """A CSV over the bundled recordings: ``per_class_and_speaker`` takes of each digit by each speaker."""
    rows = list(csv.DictReader((sample_dir() / "labels.csv").open()))
    keep = [r for r in rows if int(r["index"]) < per_class_and_speaker]
    out = tmp_path / "subset.csv"
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(keep)
    return out


def train_args(data: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    return ["train", "--data", str(data), "--audio-root", str(sample_dir() / "recordings"), "--preset", "sample",
            "--out", str(out), "--cache", str(cache), "--fold", "0", "--k", "5", "--no-progress", *TINY, *extra]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    data = sample_subset(root)
    assert main(train_args(data, root / "run", root / "cache")) == 0
    return root


def test_train_writes_checkpoints_logs_predictions_and_report(trained: Path) -> None:
    fold = trained / "run" / "fold-0"
    for name in ("checkpoints/best.ckpt", "checkpoints/last.ckpt", "logs/metrics.csv", "predictions.csv", "result.json"):
        assert (fold / name).is_file(), name
    assert (trained / "run" / "config.yaml").is_file() and (trained / "run" / "folds.csv").is_file()
    assert (trained / "run" / "report.md").is_file() and (trained / "run" / "report.json").is_file()
    assert any((fold / "tensorboard").rglob("events.out.tfevents*"))


def test_checkpoint_holds_everything_and_round_trips(trained: Path) -> None:
    path = trained / "run" / "fold-0" / "checkpoints" / "best.ckpt"
    saved = read_checkpoint(path)
    assert saved["classes"] == [str(d) for d in range(10)]
    assert len(saved["normalizers"]) == 1 and set(saved["versions"]) >= {"stasc", "torch"}
    assert saved["config"]["name"] == "sample"
    predictor = Predictor.from_checkpoint(path)
    x = torch.randn(3, 1, *predictor.config.model.input_size)
    from stasc.training.module import SceneClassifier

    module = SceneClassifier.load_from_checkpoint(path, map_location="cpu").eval()
    with torch.no_grad():
        torch.testing.assert_close(predictor.model(x), module.model(x))
    result = predictor.predict_file(sample_dir() / "recordings" / "3_theo_13.wav")
    assert result.label in predictor.classes and abs(result.probabilities.sum() - 1) < 1e-5


def test_bad_checkpoints_are_clear_errors(tmp_path: Path, trained: Path) -> None:
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        Predictor.from_checkpoint(tmp_path / "none.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        Predictor.from_checkpoint(tmp_path / "junk.ckpt")
    raw = torch.load(trained / "run" / "fold-0" / "checkpoints" / "best.ckpt", weights_only=False)
    del raw["stasc"]["normalizers"]
    torch.save(raw, tmp_path / "partial.ckpt")
    with pytest.raises(CheckpointError, match="lacks normalizers"):
        Predictor.from_checkpoint(tmp_path / "partial.ckpt")
    raw = torch.load(trained / "run" / "fold-0" / "checkpoints" / "best.ckpt", weights_only=False)
    raw["stasc"]["config"]["model"]["width_multiplier"] = 0.5
    torch.save(raw, tmp_path / "mismatch.ckpt")
    with pytest.raises(CheckpointError, match="weights do not fit the configured network"):
        Predictor.from_checkpoint(tmp_path / "mismatch.ckpt")


def test_same_seed_same_folds_and_same_weights(tmp_path: Path) -> None:
    data = sample_subset(tmp_path, 2)
    outputs = []
    for name in ("a", "b"):
        assert main(train_args(data, tmp_path / name, tmp_path / "cache", "--set", "train.max_epochs=1")) == 0
        outputs.append(read_checkpoint(tmp_path / name / "fold-0" / "checkpoints" / "last.ckpt")["state_dict"])
    assert (tmp_path / "a" / "folds.csv").read_text() == (tmp_path / "b" / "folds.csv").read_text()
    for key in outputs[0]:
        torch.testing.assert_close(outputs[0][key], outputs[1][key], rtol=0, atol=0)


@pytest.mark.parametrize(
    "override,match",
    [
        ("model.poolin=stap", "unknown config key\\(s\\) model.poolin"),
        ("train.lr=fast", "train.lr: expected a number, got 'fast'"),
        ("model.pooling=max", "model.pooling: 'max' is not one of"),
        ("input.patch_width=0", "patch width and shift must be positive"),
    ],
)
def test_bad_config_exits_2_and_names_the_key(tmp_path: Path, override: str, match: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = sample_subset(tmp_path, 1)
    assert main(train_args(data, tmp_path / "run", tmp_path / "cache", "--set", override)) == 2
    err = capsys.readouterr().err
    import re

    assert re.search(match, err), err
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_experiment("nope")


def test_every_preset_loads_and_matches_the_paper_table() -> None:
    expected = {
        "mfcc": ("mean", False, 1), "mfcc-stap": ("stap", False, 1), "mfcc-stap-mixup": ("stap", True, 1),
        "cqt-mfcc": ("mean", False, 2), "cqt-mfcc-stap": ("stap", False, 2), "hpss-mfcc-stap-mixup": ("stap", True, 1),
    }
    for name, (pooling, mixup, channels) in expected.items():
        config = load_experiment(name)
        assert (config.model.pooling, config.mixup.enabled, config.model.in_channels) == (pooling, mixup, channels)
        assert (config.train.lr, config.train.batch_size, config.train.weight_decay) == (1e-4, 256, 5e-4)
        assert (config.train.max_epochs, config.train.patience) == (100, 20)
    assert load_experiment("cqt-mfcc").model.output_grid() == (4, 128)
    assert [s.kind for s in load_experiment("cqt-mfcc").input.features] == ["cqt", "mfcc"]
    assert load_experiment("quick", parse_assignments(["train.max_epochs=1"])).train.max_epochs == 1


KILLABLE_TRAINING = textwrap.dedent(
    """
    import sys, time
    from stasc.training.module import SceneClassifier
    step = SceneClassifier.training_step

    def slow_step(self, batch, batch_idx):
        time.sleep(1.0)  # stands in for a long real epoch, so the kill lands mid-run on any machine
        return step(self, batch, batch_idx)

    SceneClassifier.training_step = slow_step
    from stasc.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


@pytest.mark.slow
def test_resume_after_a_kill_continues_from_the_last_checkpoint(tmp_path: Path) -> None:
    data = sample_subset(tmp_path, 3)
    args = train_args(data, tmp_path / "run", tmp_path / "cache", "--set", "train.max_epochs=4")
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_TRAINING, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    last = tmp_path / "run" / "fold-0" / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not last.is_file():
        if proc.poll() is not None:
            pytest.fail(f"training ended before the kill: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.1)
    time.sleep(0.5)  # let the checkpoint write finish; the slowed epochs leave seconds to spare
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert not (tmp_path / "run" / "fold-0" / "result.json").exists(), "the kill must land mid-run"
    epoch_before = torch.load(last, weights_only=False)["epoch"]
    assert main([*args, "--resume"]) == 0
    rows = list(csv.DictReader((tmp_path / "run" / "fold-0" / "logs" / "metrics.csv").open()))
    epochs = sorted({int(r["epoch"]) for r in rows if r.get("val_acc")})
    assert epochs[-1] == 3 and epoch_before < 3, (epochs, epoch_before)
    assert (tmp_path / "run" / "fold-0" / "result.json").is_file()


@pytest.mark.slow
def test_two_process_ddp_on_cpu_end_to_end(tmp_path: Path) -> None:
    data = sample_subset(tmp_path, 3)
    args = train_args(data, tmp_path / "run", tmp_path / "cache", "--set", "train.max_epochs=1", "--set",
                      "train.devices=2", "--set", "train.strategy=ddp", "--set", "train.accelerator=cpu")
    done = subprocess.run([sys.executable, "-m", "stasc.cli", *args], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "distributed_backend=gloo" in done.stderr or "gloo" in done.stderr
    predictions = list(csv.DictReader((tmp_path / "run" / "fold-0" / "predictions.csv").open()))
    folds = list(csv.DictReader((tmp_path / "run" / "folds.csv").open()))
    assert len(predictions) == sum(1 for r in folds if r["fold"] == "0")  # every validation clip, once
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]["devices"] == 2
    # the report is written once, by the main process, with no temporary left from a second writer
    assert (tmp_path / "run" / "report.md").is_file() and not list((tmp_path / "run").glob(".*tmp*"))


def test_network_output_follows_the_number_of_classes(tmp_path: Path) -> None:
    rows = [r for r in csv.DictReader((sample_dir() / "labels.csv").open()) if r["label"] in "012" and int(r["index"]) < 2]
    with (tmp_path / "three.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(train_args(tmp_path / "three.csv", tmp_path / "run", tmp_path / "cache", "--set", "train.max_epochs=1")) == 0
    saved = read_checkpoint(tmp_path / "run" / "fold-0" / "checkpoints" / "best.ckpt")
    assert saved["classes"] == ["0", "1", "2"] and saved["config"]["model"]["n_classes"] == 3


def test_a_run_folder_refuses_another_configuration_but_not_a_new_name(tmp_path: Path) -> None:
    import dataclasses

    from stasc.training.fit import write_run_config

    config = load_experiment("quick")
    write_run_config(config, tmp_path / "run")
    write_run_config(dataclasses.replace(config, name="renamed", description="same settings"), tmp_path / "run")
    changed = load_experiment("quick", parse_assignments(["train.lr=0.5", "mixup.enabled=false"]))
    with pytest.raises(ConfigError, match=r"mixup\.enabled, train\.lr"):
        write_run_config(changed, tmp_path / "run")


def test_masking_trains_and_is_saved_with_the_run(tmp_path: Path) -> None:
    rows = [r for r in csv.DictReader((sample_dir() / "labels.csv").open()) if r["label"] in "01" and int(r["index"]) < 2]
    with (tmp_path / "two.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    args = train_args(tmp_path / "two.csv", tmp_path / "run", tmp_path / "cache", "--set", "train.max_epochs=1",
                      "--set", "masking.freq_masks=2", "--set", "masking.time_masks=1")
    assert main(args) == 0
    saved = read_checkpoint(tmp_path / "run" / "fold-0" / "checkpoints" / "best.ckpt")
    assert saved["config"]["masking"] == {"freq_masks": 2, "freq_max_width": 8, "time_masks": 1, "time_max_width": 16}
