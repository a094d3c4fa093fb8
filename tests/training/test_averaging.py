"""Weight averaging (``train.ema_epochs``): the model kept, scored and read back is the moving average of the weights,
and ``--resume`` carries the average on instead of starting it again."""

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import FSDD, TINY, esc_subset, fsdd_subset, train_until_killed
from stasc.cli import main
from stasc.inference import Predictor
from stasc.models import build_model
from stasc.runs import RunDir
from stasc.training.averaging import ema_decay


def test_the_decay_gives_the_average_a_time_constant_of_the_epochs_asked_for() -> None:
    decay = ema_decay(2.0, 50)
    assert 1 / (1 - decay) == pytest.approx(100)  # 2 epochs of 50 steps
    assert decay ** 100 == pytest.approx(np.exp(-1), rel=0.01)  # the last 2 epochs hold 63 % of the weight
    assert ema_decay(0.5, 1) == 0.0  # under one step: the weights as trained
    with pytest.raises(ValueError, match="epochs > 0 and steps_per_epoch > 0, got 1.0 and 0"):
        ema_decay(1.0, 0)


def test_the_average_is_torchs_ema_of_every_step_at_the_decay_of_the_trainers_own_epoch(tmp_path: Path) -> None:
    import lightning as L
    from lightning.pytorch.callbacks import Callback
    from lightning.pytorch.demos.boring_classes import BoringModel

    from stasc.training.averaging import MovingAverage

    class Snapshots(Callback):  # the weights as trained after every optimiser step
        def __init__(self) -> None:
            self.taken: list[dict[str, torch.Tensor]] = []

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
            self.taken.append({k: v.detach().clone() for k, v in pl_module.state_dict().items()})

    average, snapshots = MovingAverage(epochs=1.5), Snapshots()
    # BoringModel's 64 batches of one sample; the trainer trains a quarter of them an epoch
    trainer = L.Trainer(max_epochs=2, limit_train_batches=0.25, limit_val_batches=0, callbacks=[snapshots, average],
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False)
    trainer.fit(BoringModel())
    assert trainer.num_training_batches == 16 and average.decay == ema_decay(1.5, 16) == 1 - 1 / 24
    expected = dict(snapshots.taken[0])
    for step in snapshots.taken[1:]:
        expected = {k: average.decay * expected[k] + (1 - average.decay) * step[k] for k in expected}
    assert len(snapshots.taken) == 32
    for name, value in trainer.lightning_module.state_dict().items():  # the average, copied in at the end
        torch.testing.assert_close(value, expected[name])


def _raw(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True)


def test_the_cv_scores_the_moving_average_and_predict_reads_it_back(tmp_path: Path) -> None:
    data = esc_subset(tmp_path, 1, folds="12")
    assert main(["train", "--data", str(data), "--preset", "envsound", "--cache", str(tmp_path / "cache"),
                 "--out", str(tmp_path / "run"), "--fold", "1", "--no-progress", "--set", "train.max_epochs=2",
                 "--set", "train.batch_size=8", "--set", "model.width_multiplier=0.0625", "--set", "model.members=1",
                 "--set", "train.precision=32-true", "--set", "train.ema_epochs=1"]) == 0
    split = RunDir(tmp_path / "run").split("fold-1")
    raw = _raw(split.last)
    # updated after every optimiser step, from the first
    assert int(raw["averaging_state"]["n_averaged"]) == raw["global_step"] > 2
    averaged, trained = raw["state_dict"], raw["current_model_state"]
    assert any(not torch.equal(averaged[k], trained[k]) for k in averaged if k.startswith("model."))

    scored = {r["filename"]: r for r in csv.DictReader(split.predictions.open())}
    predictor = Predictor.from_checkpoint(split.last)  # `envsound` keeps the last epoch
    as_trained = build_model(predictor.config.model)
    as_trained.load_state_dict({k.removeprefix("model."): v for k, v in trained.items() if k.startswith("model.")})
    trained_predictor = Predictor(predictor.config, predictor.classes, predictor.normalizers, as_trained)
    apart = 0.0
    for name, row in scored.items():
        expected = [float(row[c]) for c in predictor.classes]
        np.testing.assert_allclose(predictor.predict_file(name, window_seconds=10.0).probabilities, expected,
                                   atol=1e-4)
        apart = max(apart, float(np.abs(trained_predictor.predict_file(name, window_seconds=10.0).probabilities
                                        - expected).max()))
    assert apart > 1e-3  # the weights as trained would have scored otherwise


@pytest.mark.slow
def test_a_resumed_run_carries_its_moving_average_on(tmp_path: Path) -> None:
    # restarted at the resume, the average would count only the steps after it
    data = fsdd_subset(tmp_path, 3)
    args = ["train", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample",
            "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "cache"), "--fold", "0", "--k", "5",
            "--no-progress", *TINY, "--set", "train.max_epochs=3", "--set", "train.ema_epochs=1"]
    split = RunDir(tmp_path / "run").split("fold-0")
    train_until_killed(args, split.last.is_file)  # killed once one epoch is done
    assert not split.result.exists(), "the kill must land mid-run"
    before = _raw(split.last)
    assert main([*args, "--resume"]) == 0
    after = _raw(split.last)
    assert after["epoch"] == 2 and after["global_step"] > before["global_step"]
    assert int(after["averaging_state"]["n_averaged"]) == after["global_step"]
