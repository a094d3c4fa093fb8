"""Training end to end on real data: checkpoints, model selection and its protocol, resume with its
history, DDP, bad configs, predictions."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from helpers import ESC10, FSDD, TINY, esc_subset, fsdd_subset, train_until_killed
from stasc import checkpoint
from stasc.cli import main
from stasc.config import ConfigError, load_experiment, parse_assignments
from stasc.data import DatasetError, read_csv
from stasc.inference import CheckpointError, Predictor
from stasc.runs import RunDir
from stasc.training.cross_validation import write_run_config
from stasc.training.fit import plan_split


def train_args(data: Path, out: Path, cache: Path, *extra: str, fold: str = "0") -> list[str]:
    # stasc's default selection (a validation part), which these tests are about; `sample` keeps the last epoch
    return ["train", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample",
            "--out", str(out), "--cache", str(cache), "--fold", fold, "--k", "5", "--no-progress", *TINY,
            "--set", "train.selection=validation", *extra]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("trained")
    data = fsdd_subset(root)
    assert main(train_args(data, root / "run", root / "cache")) == 0
    return root


def test_train_writes_checkpoints_logs_predictions_and_report(trained: Path) -> None:
    split = RunDir(trained / "run").split("fold-0")
    for path in (split.best, split.last, split.metrics, split.predictions, split.result):
        assert path.is_file(), path
    run = RunDir(trained / "run")
    assert run.config.is_file() and run.folds.is_file() and run.report_md.is_file() and run.report_json.is_file()
    assert any(split.tensorboard.rglob("events.out.tfevents*"))


def test_the_test_fold_is_scored_once_by_the_model_the_validation_part_chose(trained: Path) -> None:
    run = RunDir(trained / "run")
    result = run.split("fold-0").read_result()
    folds = list(csv.DictReader(run.folds.open()))
    test = {r["filename"] for r in folds if r["fold"] == "0"}
    predicted = {r["filename"] for r in csv.DictReader(run.split("fold-0").predictions.open())}
    assert predicted == test  # every test clip scored, nothing else
    assert result["protocol"]["selection"] == "validation" and result["protocol"]["validation_fraction"] == 0.125
    assert result["clips"]["test"] == len(test) and result["clips"]["selection"] > 0
    assert result["clips"]["fit"] + result["clips"]["selection"] + result["clips"]["test"] == len(folds)
    # the validation metrics in the log are the selection clips', not the test fold's
    history = [r for r in csv.DictReader(run.split("fold-0").metrics.open()) if r.get("val_acc")]
    best_logged = max(float(r["val_acc"]) for r in history)
    assert result["selection_score"] == pytest.approx(best_logged, abs=1e-6)
    saved = checkpoint.load_data(run.split("fold-0").best)
    assert result["selected_epoch"] == saved["epoch"]
    report = json.loads(run.report_json.read_text())
    assert report["protocol"]["selection"] == "validation" and report["protocol"]["folds"] == "grouped"
    assert "held-out validation part" in run.report_md.read_text()


def test_checkpoint_holds_everything_and_round_trips(trained: Path) -> None:
    path = RunDir(trained / "run").split("fold-0").best
    saved = checkpoint.read(path)
    assert saved.classes == tuple(str(d) for d in range(10))
    assert len(saved.normalizers) == 1 and set(saved.versions) >= {"stasc", "torch", "lightning"}
    assert saved.config.name == "sample"
    predictor = Predictor.from_checkpoint(path)
    x = torch.randn(3, 1, *predictor.config.model.input_size)
    from stasc.training.module import SceneClassifier

    module = SceneClassifier.load_from_checkpoint(path, map_location="cpu", weights_only=True).eval()
    with torch.no_grad():
        torch.testing.assert_close(predictor.model(x), module.model(x))
    result = predictor.predict_file(FSDD / "recordings" / "3_theo_13.wav")
    assert result.label in predictor.classes and abs(result.probabilities.sum() - 1) < 1e-5
    resaved = predictor.save(trained / "copy.ckpt")
    again = Predictor.from_checkpoint(resaved)
    with torch.no_grad():
        torch.testing.assert_close(again.model(x), predictor.model(x))


def test_bad_checkpoints_are_clear_errors(tmp_path: Path, trained: Path) -> None:
    best = RunDir(trained / "run").split("fold-0").best
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        Predictor.from_checkpoint(tmp_path / "none.ckpt")
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        Predictor.from_checkpoint(tmp_path / "junk.ckpt")
    raw = torch.load(best, weights_only=True)
    del raw["stasc"]["normalizers"]
    torch.save(raw, tmp_path / "partial.ckpt")
    with pytest.raises(CheckpointError, match="lacks normalizers"):
        Predictor.from_checkpoint(tmp_path / "partial.ckpt")
    raw = torch.load(best, weights_only=True)
    raw["stasc"]["config"]["model"]["width_multiplier"] = 0.5
    torch.save(raw, tmp_path / "mismatch.ckpt")
    with pytest.raises(CheckpointError, match="weights do not fit the configured network"):
        Predictor.from_checkpoint(tmp_path / "mismatch.ckpt")
    raw = torch.load(best, weights_only=True)
    raw["stasc"]["format"] = 1
    torch.save(raw, tmp_path / "old.ckpt")
    with pytest.raises(CheckpointError, match=r"checkpoint format 1.*train the model again"):
        Predictor.from_checkpoint(tmp_path / "old.ckpt")


def test_same_seed_same_folds_and_same_weights(tmp_path: Path) -> None:
    data = fsdd_subset(tmp_path, 2)
    outputs = []
    for name in ("a", "b"):
        assert main(train_args(data, tmp_path / name, tmp_path / "cache", "--set", "train.max_epochs=1")) == 0
        outputs.append(checkpoint.read(RunDir(tmp_path / name).split("fold-0").last).weights)
    assert (tmp_path / "a" / "folds.csv").read_text() == (tmp_path / "b" / "folds.csv").read_text()
    for key in outputs[0]:
        torch.testing.assert_close(outputs[0][key], outputs[1][key], rtol=0, atol=0)


@pytest.mark.parametrize(
    "override,match",
    [
        ("model.poolin=stap", "unknown config key model.poolin; known keys of model: blocks, dropout"),
        ("train.lr=fast", "train.lr: input should be a valid number.*got 'fast'"),
        ("train.lr=nan", "train.lr: input should be a finite number"),
        ("model.pooling=max", "model.pooling: got 'max', expected one of"),
        ("input.patch_width=0", "input.patch_width: input should be greater than 0, got 0"),
        ("train.optimizer=sgd", "train.optimizer: input should be 'adam' or 'adamw', got 'sgd'"),
        ("train.ema_epochs=0", "train.ema_epochs: input should be greater than 0, got 0"),
    ],
)
def test_bad_config_exits_2_and_names_the_key(tmp_path: Path, override: str, match: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    data = fsdd_subset(tmp_path, 1)
    assert main(train_args(data, tmp_path / "run", tmp_path / "cache", "--set", override)) == 2
    err = capsys.readouterr().err
    import re

    assert re.search(match, err), err
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_experiment("nope")


@pytest.mark.parametrize("optimizer", ["adam", "adamw"])
def test_adamw_shrinks_every_weight_by_lr_times_decay_where_adam_adds_the_decay_to_the_gradient(optimizer: str) -> None:
    from stasc.config import ExperimentConfig
    from stasc.features.patches import Normalizer
    from stasc.training.module import SceneClassifier

    config = ExperimentConfig.parse({
        "input": {"features": [{"kind": "logmel", "n_mels": 32, "n_fft": 512, "hop_length": 256}],
                  "patch_size": [32, 32]},
        "model": {"input_size": [32, 32], "width_multiplier": 0.0625, "n_classes": 3, "pooling": "mean",
                  "head": "linear"},
        "train": {"optimizer": optimizer, "lr": 0.01, "weight_decay": 0.1, "lr_schedule": "cosine", "max_epochs": 4}})
    module = SceneClassifier.create(config, ["a", "b", "c"], [Normalizer(np.zeros(32), np.ones(32))])
    configured = module.configure_optimizers()
    step = configured["optimizer"]
    assert type(step) is (torch.optim.AdamW if optimizer == "adamw" else torch.optim.Adam)
    assert isinstance(configured["lr_scheduler"]["scheduler"], torch.optim.lr_scheduler.CosineAnnealingLR)
    weights = [p for p in module.parameters() if p.abs().min() > 1e-3]  # no weight near 0, where sign() is unstable
    before = [w.detach().clone() for w in weights]
    for p in module.parameters():
        p.grad = torch.zeros_like(p)  # no loss: only the weight decay moves a weight
    step.step()
    for old, new in zip(before, weights):
        if optimizer == "adamw":  # decoupled: w · (1 − lr · decay), in proportion to the weight
            torch.testing.assert_close(new.detach(), old * (1 - 0.01 * 0.1))
        else:  # coupled: the gradient is decay · w, and Adam's first step moves each weight by lr against its sign
            torch.testing.assert_close(new.detach(), old - 0.01 * old.sign(), atol=1e-5, rtol=1e-4)


def test_stasc_train_with_adamw_trains_end_to_end_and_its_checkpoint_holds_the_decoupled_optimiser(
        tmp_path: Path) -> None:
    data = fsdd_subset(tmp_path, 1)
    assert main(train_args(data, tmp_path / "run", tmp_path / "cache", "--set", "train.optimizer=adamw",
                           "--set", "train.weight_decay=0.05")) == 0
    last = RunDir(tmp_path / "run").split("fold-0").last
    saved = torch.load(last, map_location="cpu", weights_only=False)
    group = saved["optimizer_states"][0]["param_groups"][0]
    assert group["decoupled_weight_decay"] is True and group["weight_decay"] == 0.05
    assert checkpoint.read(last).config.train.optimizer == "adamw"


def test_every_preset_loads_and_the_paper_presets_match_the_paper_table() -> None:
    expected = {
        "mfcc": ("mean", False, 1), "mfcc-stap": ("stap", False, 1), "mfcc-stap-mixup": ("stap", True, 1),
        "cqt-mfcc": ("mean", False, 2), "cqt-mfcc-stap": ("stap", False, 2), "hpss-mfcc-stap-mixup": ("stap", True, 1),
    }
    for name, (pooling, mixup, channels) in expected.items():
        config = load_experiment(name)
        assert (config.model.pooling.kind, config.mixup.enabled, config.model.in_channels) == (pooling, mixup, channels)
        assert (config.train.lr, config.train.batch_size, config.train.weight_decay) == (1e-4, 256, 5e-4)
        assert (config.train.max_epochs, config.train.patience) == (100, 20)
        assert config.model.head == "fc_relu" and not config.augment.enabled
    assert load_experiment("cqt-mfcc").model.output_grid() == (4, 128)
    assert [s.kind for s in load_experiment("cqt-mfcc").input.features] == ["cqt", "mfcc"]
    assert load_experiment("quick", parse_assignments(["train.max_epochs=1"])).train.max_epochs == 1
    assert load_experiment("quick").model.head == "linear"  # not the paper's FC-ReLU, which zeroes most logits


@pytest.mark.slow
def test_a_resume_after_a_kill_continues_and_keeps_every_epoch_in_the_history(tmp_path: Path) -> None:
    # a promise of `--resume`: the run goes on from its last checkpoint and its learning curves lose nothing
    data = fsdd_subset(tmp_path, 3)
    args = train_args(data, tmp_path / "run", tmp_path / "cache", "--set", "train.max_epochs=5")
    split = RunDir(tmp_path / "run").split("fold-0")
    # killed once two epochs are done (epochs count from 0)
    train_until_killed(args, lambda: split.last.is_file() and checkpoint.load_data(split.last).get("epoch", 0) >= 1)
    assert not split.result.exists(), "the kill must land mid-run"
    assert main([*args, "--resume"]) == 0
    rows = list(csv.DictReader(split.metrics.open()))
    assert sorted({int(r["epoch"]) for r in rows if r.get("val_acc")}) == [0, 1, 2, 3, 4]
    assert sorted(int(r["epoch"]) for r in rows if r.get("train_loss")) == [0, 1, 2, 3, 4]  # each once
    assert split.result.is_file()


TORCHRUN_TRAINING = "import sys; from stasc.cli import main; sys.exit(main(sys.argv[1:]))"


@pytest.mark.slow
def test_two_process_torchrun_does_the_setup_once_and_matches_one_process(tmp_path: Path) -> None:
    # a promise for GPU nodes: every rank starts the command; config, folds and features are made once
    data = fsdd_subset(tmp_path, 3)
    common = ["--set", "train.max_epochs=1", "--set", "train.accelerator=cpu", "--set", "train.batch_size=32",
              "--set", "train.selection=last"]
    one = train_args(data, tmp_path / "one", tmp_path / "cache-one", *common)
    assert main(one) == 0
    two = train_args(data, tmp_path / "two", tmp_path / "cache-two", *common, "--set", "train.devices=2",
                     "--set", "train.strategy=ddp")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
                           "29531", "-m", "stasc.cli", *two], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run = tmp_path / "two"
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["devices"] == 2
    assert len(list(run.glob("config*"))) == 1 and len(list(run.glob("folds*"))) == 1
    assert not list(run.rglob(".*tmp*"))  # no temporary left by a second writer
    parts = list((tmp_path / "cache-two").rglob("parts/*.json"))
    indexed = [name for part in parts for name in json.loads(part.read_text())]
    assert len(indexed) == len(set(indexed)) == len(list(csv.DictReader(data.open())))  # each clip extracted once
    predictions = [list(csv.DictReader(RunDir(tmp_path / r).split("fold-0").predictions.open()))
                   for r in ("one", "two")]
    folds = list(csv.DictReader((run / "folds.csv").open()))
    assert len(predictions[1]) == sum(1 for r in folds if r["fold"] == "0")  # every test clip, once
    # the global batch is the configured one (16 per rank): the same optimisation as one process, so the same
    # scores up to the order of floating-point sums
    classes = [str(d) for d in range(10)]
    accuracy = [np.mean([r["label"] == max(classes, key=lambda c: float(r[c])) for r in rows]) for rows in predictions]
    assert abs(accuracy[0] - accuracy[1]) <= 0.05, accuracy


def test_network_output_follows_the_number_of_classes(tmp_path: Path) -> None:
    data = fsdd_subset(tmp_path, 2, digits="012")
    assert main(train_args(data, tmp_path / "run", tmp_path / "cache", "--set", "train.max_epochs=1",
                           "--set", "train.selection=last")) == 0
    saved = checkpoint.read(RunDir(tmp_path / "run").split("fold-0").best)
    assert saved.classes == ("0", "1", "2") and saved.config.model.n_classes == 3


def test_a_run_folder_refuses_another_configuration_but_not_a_new_name(tmp_path: Path) -> None:
    config = load_experiment("quick")
    run = RunDir(tmp_path / "run")
    write_run_config(config, run)
    write_run_config(config.replaced(name="renamed", description="same settings"), run)
    changed = load_experiment("quick", parse_assignments(["train.lr=0.5", "mixup.enabled=false"]))
    with pytest.raises(ConfigError, match=r"mixup\.enabled, train\.lr"):
        write_run_config(changed, run)


def test_official_folds_give_one_split_per_fold_and_train_without_fold_makes_the_final_model(tmp_path: Path) -> None:
    data = esc_subset(tmp_path, 1, folds="123")
    base = ["--data", str(data), "--preset", "envsound", "--cache", str(tmp_path / "cache"), "--no-progress",
            "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625", "--set", "train.selection=last"]
    assert main(["train", *base, "--out", str(tmp_path / "run"), "--fold", "2"]) == 0
    run = RunDir(tmp_path / "run")
    test = {r["filename"] for r in csv.DictReader(run.split("fold-2").predictions.open())}
    labels = list(csv.DictReader(data.open()))
    assert test == {r["filename"] for r in labels if r["fold"] == "2"}  # the official fold 2, as the data says
    assert run.split("fold-2").read_result()["protocol"]["folds"] == "dataset"
    assert main(["train", *base, "--out", str(tmp_path / "run")]) == 0  # no --fold: the final model
    final = run.split("final").read_result()
    assert final["test_accuracy"] is None and final["clips"]["fit"] == len(labels)
    assert run.model_checkpoints() == [run.split("final").best]  # predict and export now use it
    assert main(["train", *base, "--out", str(tmp_path / "other"), "--fold", "7"]) == 2


def test_a_whole_fold_can_be_the_validation_part_and_the_protocol_says_so(tmp_path: Path) -> None:
    data = esc_subset(tmp_path, 1, folds="123")
    base = ["--data", str(data), "--preset", "envsound", "--cache", str(tmp_path / "cache"), "--no-progress",
            "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625", "--set", "model.members=1",
            "--set", "train.selection=validation", "--set", "train.validation_part=fold"]
    assert main(["train", *base, "--out", str(tmp_path / "run"), "--fold", "3"]) == 0
    run = RunDir(tmp_path / "run")
    labels = list(csv.DictReader(data.open()))
    result = run.split("fold-3").read_result()
    # official folds 1-3: test fold 3, the fold after it (1, wrapping) validates, fold 2 alone trains
    assert result["clips"]["selection"] == sum(r["fold"] == "1" for r in labels)
    assert result["clips"]["fit"] == sum(r["fold"] == "2" for r in labels)
    assert result["protocol"]["validation_part"] == "fold" and result["protocol"]["validation_fraction"] == 0
    assert "one whole fold of the training side" in run.report_md.read_text()
    # no --fold: the final model holds out the seed-th official fold (seed 0: fold 1) and trains on the rest
    assert main(["train", *base, "--out", str(tmp_path / "final")]) == 0
    final = RunDir(tmp_path / "final").split("final").read_result()
    assert final["clips"]["selection"] == sum(r["fold"] == "1" for r in labels)
    assert final["clips"]["fit"] == sum(r["fold"] in "23" for r in labels) and final["test_accuracy"] is None
    # the dataset's official train/test split has no folds to hold one out of
    with pytest.raises(DatasetError, match="validation_part=fold holds out one of the training side's folds"):
        config = load_experiment("envsound", parse_assignments(["train.selection=validation",
                                                                "train.validation_part=fold"]))
        plan_split(config, read_csv(data), np.arange(4), np.arange(4, 8), name="official", folds="official")


def test_test_fold_selection_is_the_papers_protocol_and_says_optimistic(tmp_path: Path) -> None:
    data = fsdd_subset(tmp_path, 2)
    assert main(train_args(data, tmp_path / "run", tmp_path / "cache", "--set", "train.max_epochs=2",
                           "--set", "train.selection=test-fold")) == 0
    run = RunDir(tmp_path / "run")
    result = run.split("fold-0").read_result()
    assert result["protocol"]["selection"] == "test-fold" and result["clips"]["selection"] == result["clips"]["test"]
    assert "selected on the test fold itself" in run.report_md.read_text() and "optimistic" in run.report_md.read_text()


def test_the_bundled_sample_is_esc10_and_reads_like_the_shared_copy() -> None:
    from stasc.sample import sample_table

    bundled = sample_table()
    assert len(bundled) == 400 and len(bundled.classes) == 10
    shared = list(csv.DictReader((ESC10 / "labels.csv").open()))
    assert list(bundled.files) == [r["filename"] for r in shared]
    assert list(bundled.folds or ()) == [int(r["fold"]) for r in shared]
    import soundfile as sf

    info = sf.info(str(bundled.path(0)))
    assert info.samplerate == 44100 and info.channels == 1 and 3.5 < info.duration < 7.5


def test_a_selection_window_chooses_by_the_mean_of_the_last_epochs(tmp_path: Path) -> None:
    data = fsdd_subset(tmp_path, 2)
    assert main(train_args(data, tmp_path / "run", tmp_path / "cache", "--set", "train.max_epochs=4",
                           "--set", "train.selection_window=3", "--set", "train.monitor=val_loss")) == 0
    split = RunDir(tmp_path / "run").split("fold-0")
    rows = [r for r in csv.DictReader(split.metrics.open()) if r.get("val_loss")]
    losses = [float(r["val_loss"]) for r in rows]
    windows = [np.mean(losses[max(0, i - 2) : i + 1]) for i in range(len(losses))]
    np.testing.assert_allclose([float(r["selection_score"]) for r in rows], windows, rtol=1e-5)
    result = split.read_result()
    assert result["selection_score"] == pytest.approx(min(windows), rel=1e-5)
    assert result["selected_epoch"] == int(np.argmin(windows))  # the last epoch of the best window
    assert result["protocol"]["selection_window"] == 3 and "mean of 3 epochs" in result["protocol"]["description"]


def test_training_reads_its_own_clips_when_another_copy_of_the_data_filled_the_cache_since(tmp_path: Path) -> None:
    # two copies of a dataset share one cache under the same clip names (README, the feature cache): features
    # another copy committed later, here zeros under another source stamp, must not reach this run's training
    from stasc.extraction import feature_caches

    data = esc_subset(tmp_path, 1, folds="12")
    base = ["--data", str(data), "--preset", "envsound", "--cache", str(tmp_path / "cache"), "--no-progress",
            "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625", "--set", "model.members=1",
            "--set", "train.precision=32-true", "--fold", "1"]
    assert main(["train", *base, "--out", str(tmp_path / "alone")]) == 0
    config = load_experiment(RunDir(tmp_path / "alone").config)
    for cache in feature_caches(config, tmp_path / "cache", read_csv(data)):
        with cache.writer() as writer:
            for name in list(cache.entries()):
                writer.add(name, np.zeros_like(cache.load(name)), source="1:1")  # the other copy, newer
    assert main(["train", *base, "--out", str(tmp_path / "shared")]) == 0
    alone, shared = (list(csv.reader(RunDir(tmp_path / run).split("fold-1").predictions.open()))
                     for run in ("alone", "shared"))
    assert shared[0] == alone[0] and len(shared) == len(alone) > 1
    np.testing.assert_allclose(np.array([r[3:] for r in shared[1:]], dtype=float),
                               np.array([r[3:] for r in alone[1:]], dtype=float), rtol=1e-4, atol=1e-6)


# a real ESC-10 recording of a dog: a bark in its first 0.6 s, then digital silence (ESC pads short sources), in fold 1
LONE_BARK = ESC10 / "audio" / "1-110389-A.ogg"


def esc_subset_with_a_lone_bark(tmp_path: Path) -> tuple[Path, str]:
    """An ESC-10 subset of folds 1 and 2 (one source a class and fold) that holds :data:`LONE_BARK`; its CSV and the
    bark's filename as the CSV names it."""
    data = esc_subset(tmp_path, 1, folds="12")
    rows = list(csv.DictReader(data.open()))
    dog = str(LONE_BARK)
    if dog not in {r["filename"] for r in rows}:
        rows.append({**rows[0], "filename": dog, "label": "dog", "fold": "1", "group": "110389"})
    with data.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return data, dog


def test_envsound_scores_a_silence_padded_test_clip_in_cv_as_predict_does(tmp_path: Path) -> None:
    # the first thing a user checks of a model: the CV's test prediction of a file is what `stasc predict` says of
    # it. A dog bark in its first 0.6 s, then digital silence (ESC pads short sources): three of its four 3-s patches
    # hold nothing but silence, and envsound's sound weights leave them out
    data, dog = esc_subset_with_a_lone_bark(tmp_path)
    assert load_experiment("envsound").model.patch_weights == "sound"
    assert main(["train", "--data", str(data), "--preset", "envsound", "--cache", str(tmp_path / "cache"),
                 "--out", str(tmp_path / "run"), "--fold", "1", "--no-progress", "--set", "train.max_epochs=1",
                 "--set", "model.width_multiplier=0.0625", "--set", "model.members=1",
                 "--set", "train.precision=32-true"]) == 0
    split = RunDir(tmp_path / "run").split("fold-1")
    scored = {r["filename"]: r for r in csv.DictReader(split.predictions.open())}
    predictor = Predictor.from_checkpoint(split.last)
    assert predictor.config.model.patch_weights == "sound"
    predicted = predictor.predict_file(dog, window_seconds=10.0, hop_seconds=10.0)  # the 5-s clip: one window
    assert len(predicted.windows) == 1
    row = scored[dog]
    np.testing.assert_allclose(predicted.probabilities, [float(row[c]) for c in predictor.classes], atol=1e-4)
    # the weights both paths applied: the bark's patch alone (one epoch leaves the network's patches too alike for
    # the weights to move its output measurably; test_data and test_export check that they do on differing patches)
    from stasc.audio import load_views

    spectrograms = predictor.front_end.spectrograms(load_views(dog, predictor.sample_rate)[None])
    weights = predictor.patch_weights(spectrograms)
    assert weights is not None and weights[0] > 0 and weights[1:].tolist() == [0.0, 0.0, 0.0]


def test_envsound_leaves_the_silent_patches_of_esc10_out_of_training_and_says_how_many(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    # 1-110389-A: a bark in its first 0.6 s, then digital silence (three of its four 3-s patches hold nothing), on
    # the training side of test fold 2
    data, _ = esc_subset_with_a_lone_bark(tmp_path)
    common = ["train", "--data", str(data), "--preset", "envsound", "--cache", str(tmp_path / "cache"), "--fold", "2",
              "--no-progress", "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625",
              "--set", "model.members=1", "--set", "train.precision=32-true"]
    with caplog.at_level(logging.INFO, logger="stasc"):
        assert main([*common, "--out", str(tmp_path / "drop")]) == 0  # the preset drops them
    said = [r.getMessage() for r in caplog.records if "train.silent_patches 'drop'" in r.getMessage()]
    assert len(said) == 1, said
    dropped, total = (int(n) for n in said[0].split(": ")[1].split(" training")[0].split(" of "))
    assert 0 < dropped < total  # the dog's patches of silence at least, and not the sounding ones
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="stasc"):  # weighed: the same patches leave, the rest weigh by sound
        assert main([*common, "--out", str(tmp_path / "weight"), "--set", "train.silent_patches=weight"]) == 0
    said = [r.getMessage() for r in caplog.records if "train.silent_patches 'weight'" in r.getMessage()]
    assert len(said) == 1 and f": {dropped} of {total} training patches" in said[0], said
    assert said[0].endswith("the others' losses are weighted by their share of sounding frames")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="stasc"):
        assert main([*common, "--out", str(tmp_path / "keep"), "--set", "train.silent_patches=keep"]) == 0
    assert not any("silent_patches" in r.getMessage() for r in caplog.records)  # every patch trained on
    assert yaml.safe_load((tmp_path / "drop" / "config.yaml").read_text())["train"]["silent_patches"] == "drop"
