import csv
from pathlib import Path

import pytest

from stasc.cli import build_parser, main


def test_folds_command_on_real_tau_metadata(tmp_path: Path, tau_meta_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
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
def test_demo_trains_and_reports_on_the_bundled_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--no-progress", "--set", "train.max_epochs=2"]) == 0
    printed = capsys.readouterr().out
    assert "sample: 1000 clips, 10 classes, 5 speakers" in printed
    assert "sample" in printed and "±" in printed  # the Table-2 style line: accuracy mean ± std
    assert len(list((out / "run").glob("fold-*/result.json"))) == 5
    for name in ("report.md", "report.json"):
        assert (out / "run" / name).is_file()
    # a second run keeps every finished fold
    before = (out / "run" / "fold-0" / "checkpoints" / "best.ckpt").stat().st_mtime_ns
    assert main(["demo", "--out", str(out), "--no-progress", "--set", "train.max_epochs=2"]) == 0
    assert (out / "run" / "fold-0" / "checkpoints" / "best.ckpt").stat().st_mtime_ns == before
