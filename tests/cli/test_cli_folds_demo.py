import csv
from pathlib import Path

import pytest

from stasc.cli import build_parser, demo, main
from stasc.config import load_experiment
from stasc.runs import RunDir
from stasc.sample import sample_table
from stasc.training.cross_validation import _differences, for_dataset, write_run_config


def test_folds_command_on_real_tau_metadata(tmp_path: Path, tau_meta_dir: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "folds.csv"
    assert main(["folds", "--data", str(tau_meta_dir), "--k", "5", "--seed", "0", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 14400
    assert {r["fold"] for r in rows} == {"0", "1", "2", "3", "4"}
    printed = capsys.readouterr().out
    assert "14400 clips, 10 classes" in printed


def test_folds_command_reads_fsdd_grouped_by_speaker(tmp_path: Path, fsdd_dir: Path) -> None:
    out = tmp_path / "folds.csv"
    assert main(["folds", "--data", str(fsdd_dir / "labels.csv"), "--k", "5", "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    folds_per_speaker = {}
    for r in rows:
        folds_per_speaker.setdefault(r["group"], set()).add(r["fold"])
    assert len(folds_per_speaker) == 5 and all(len(f) == 1 for f in folds_per_speaker.values())


def test_folds_command_uses_and_names_the_datasets_own_folds(tmp_path: Path, shared_data: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "folds.csv"
    assert main(["folds", "--data", str(shared_data / "esc10" / "labels.csv"), "--out", str(out)]) == 0
    assert "the dataset's own 5 folds (1, 2, 3, 4, 5)" in capsys.readouterr().out
    official = {r["filename"]: r["fold"] for r in csv.DictReader((shared_data / "esc10" / "labels.csv").open())}
    assert {r["filename"]: r["fold"] for r in csv.DictReader(out.open())} == official
    # --folds grouped asks for our own, and --k with official folds that differ is refused
    assert main(["folds", "--data", str(shared_data / "esc10" / "labels.csv"), "--folds", "grouped", "--k", "4",
                 "--out", str(out)]) == 0
    assert {r["fold"] for r in csv.DictReader(out.open())} == {"0", "1", "2", "3"}
    assert main(["folds", "--data", str(shared_data / "esc10" / "labels.csv"), "--k", "4", "--out", str(out)]) == 2
    assert "has 5 official folds, not --k 4" in capsys.readouterr().err


def test_bad_data_path_exits_2_with_a_clear_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["folds", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "f.csv")]) == 2
    assert "nope: no such file or folder" in capsys.readouterr().err


def test_every_command_has_help_with_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"demo", "extract", "folds", "download"} <= set(commands)
    for name, sub in commands.items():
        text = sub.format_help()
        assert "example" in text, f"stasc {name} --help shows no example"


def test_demo_trains_64_bands_where_this_machine_would_take_longer_than_its_budget(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    table = sample_table()
    tiny = {"train": {"max_epochs": 2}, "model": {"width_multiplier": 0.0625}}
    preset = load_experiment("envsound", tiny)
    # measured here (a real probe of the tiny network), and no machine trains the demo in a millionth of a minute
    fewer, name = demo.demo_recipe(table, tiny, tmp_path / "run", fold=1, budget_minutes=1e-6)
    assert name == "envsound with 64 bands" and fewer.name == "envsound-64-bands"  # its report names it too
    assert "over the demo's budget of 1e-06; training envsound with 64 bands instead" in capsys.readouterr().out
    assert fewer.input.features[0].n_mels == 64 and fewer.augment.freq_max_width == 8
    assert sorted(_differences(preset.settings(), fewer.settings())) == [
        "augment.freq_max_width", "input.features", "input.patch_size", "model.input_size"]  # the --set values hold
    # a budget the machine meets keeps the preset; 0 keeps it without measuring
    assert demo.demo_recipe(table, tiny, tmp_path / "other", fold=1, budget_minutes=1e6) == (preset, "envsound")
    assert "within the demo's budget of 1e+06" in capsys.readouterr().out
    monkeypatch.setattr(demo, "projected_minutes", lambda *_: pytest.fail("measured although told not to"))
    assert demo.demo_recipe(table, tiny, tmp_path / "other", fold=1, budget_minutes=0) == (preset, "envsound")
    # a run started with 64 bands resumes with them, whatever the budget says now
    write_run_config(for_dataset(fewer, table), RunDir(tmp_path / "run"))
    assert demo.demo_recipe(table, tiny, tmp_path / "run", fold=1, budget_minutes=1e6) == (fewer, name)
    assert "resuming the run in" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_trains_on_the_bundled_esc10_and_prints_the_published_table(tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # the README's main job: real environmental sound, an official fold, the published figures beside
    out = tmp_path / "demo"
    tiny = ["--set", "train.max_epochs=2", "--set", "model.width_multiplier=0.0625"]
    assert main(["demo", "--out", str(out), "--no-progress", *tiny]) == 0
    printed = capsys.readouterr().out
    assert "sample: ESC-10, 400 clips, 10 classes" in printed
    assert "ESC-10, official fold 1: stasc envsound" in printed and "CNN on log-mel (Piczak 2015, MLSP)" in printed
    assert "no selection: the model after the last of 2 epochs" in printed  # the protocol, in words
    result = (out / "run" / "fold-1" / "result.json")
    assert result.is_file() and (out / "run" / "report.md").is_file()
    # a second run keeps the finished fold
    before = (out / "run" / "fold-1" / "checkpoints" / "best.ckpt").stat().st_mtime_ns
    assert main(["demo", "--out", str(out), "--no-progress", *tiny]) == 0
    assert (out / "run" / "fold-1" / "checkpoints" / "best.ckpt").stat().st_mtime_ns == before


@pytest.mark.slow
def test_demo_on_a_machine_too_slow_for_its_budget_trains_64_bands_names_them_and_resumes(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # what a user on a slow CPU meets: the command itself chooses, trains, reports the recipe it trained, and a rerun
    # with the default budget resumes that run instead of refusing it as another configuration
    out = tmp_path / "demo"
    tiny = ["--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625"]
    assert main(["demo", "--out", str(out), "--no-progress", "--budget-minutes", "1e-9", *tiny]) == 0
    printed = capsys.readouterr().out
    assert "training envsound with 64 bands instead" in printed
    assert "ESC-10, official fold 1: stasc envsound with 64 bands" in printed
    trained = load_experiment(RunDir(out / "run").config)
    assert trained.input.features[0].n_mels == 64 and trained.name == "envsound-64-bands"
    assert "envsound-64-bands" in (out / "run" / "report.md").read_text()
    before = (out / "run" / "fold-1" / "checkpoints" / "best.ckpt").stat().st_mtime_ns
    assert main(["demo", "--out", str(out), "--no-progress", *tiny]) == 0
    assert "resuming the run in" in capsys.readouterr().out
    assert (out / "run" / "fold-1" / "checkpoints" / "best.ckpt").stat().st_mtime_ns == before
