import csv
from pathlib import Path

import pytest

from stasc.cli import build_parser, main


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
