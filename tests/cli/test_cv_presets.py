"""`stasc cv` with each of the paper's six presets, end to end on the real TUT clips, at a tiny width."""

import json
from pathlib import Path

import numpy as np
import pytest

from stasc.cli import main
from stasc.evaluation.predictions import read_predictions
from stasc.runs import RunDir

PRESETS = ["mfcc", "mfcc-stap", "mfcc-stap-mixup", "cqt-mfcc", "cqt-mfcc-stap", "hpss-mfcc-stap-mixup"]


@pytest.mark.slow
@pytest.mark.parametrize("preset", PRESETS)
def test_cv_runs_each_paper_preset_on_tut_clips(preset: str, tmp_path: Path, tut_dir: Path,
                                                tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.getbasetemp() / "shared-feature-cache"  # features are shared between presets
    out = tmp_path / preset
    args = ["cv", "--data", str(tut_dir), "--preset", preset, "--k", "2", "--out", str(out), "--cache", str(cache),
            "--no-progress", "--set", "model.width_multiplier=0.0625", "--set", "train.max_epochs=1",
            "--set", "train.batch_size=32"]
    assert main(args) == 0
    report = json.loads((out / "report.json").read_text())
    row = report["rows"][preset]
    assert row["n_folds"] == 2 and row["clips"] == 10  # every clip tested once
    # the report's figures are those of the predictions the selected models wrote, fold by fold
    for fold, summary in zip(RunDir(out).test_splits(), row["folds"]):
        predictions = read_predictions(fold.predictions)
        hits = np.array(predictions.predicted) == np.array(predictions.labels)
        assert summary["accuracy"] == pytest.approx(hits.mean()) and summary["clips"] == len(predictions) == 5
    assert report["protocol"]["selection"] == "validation"
    assert (out / f"confusion_{preset}.png").stat().st_size > 5000
    assert "## Per-class accuracy" in (out / "report.md").read_text()


@pytest.mark.slow
def test_reproduce_runs_the_six_models_and_the_ensemble_and_resumes(tmp_path: Path, tut_dir: Path,
                                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    cache = tmp_path_factory.getbasetemp() / "shared-feature-cache"
    args = ["reproduce", "--data", str(tut_dir), "--k", "2", "--out", str(tmp_path / "paper"), "--cache", str(cache),
            "--no-progress", "--set", "model.width_multiplier=0.0625", "--set", "train.max_epochs=1",
            "--set", "train.batch_size=32"]
    assert main(args) == 0
    report = json.loads((tmp_path / "paper" / "ensemble" / "report.json").read_text())
    assert set(report["rows"]) == {*PRESETS, "majority vote", "soft vote"}
    assert all(row["clips"] == 10 and row["n_folds"] == 2 for row in report["rows"].values())
    table = (tmp_path / "paper" / "ensemble" / "report.md").read_text()
    assert "71.1" in table  # the paper's mfcc-stap-mixup figure beside ours (Table 2)
    checkpoint = tmp_path / "paper" / "mfcc" / "fold-0" / "checkpoints" / "best.ckpt"
    written = checkpoint.stat().st_mtime_ns
    assert main(args) == 0  # a second run trains nothing again and rewrites the same report
    assert checkpoint.stat().st_mtime_ns == written
    assert json.loads((tmp_path / "paper" / "ensemble" / "report.json").read_text())["rows"] == report["rows"]
