"""Results over seeds: every split repeated with other training seeds on the same folds, reported as
mean ± std over seeds, and the seeds of one preset as ensemble members."""

import json
from pathlib import Path

import torch

from helpers import FSDD, fsdd_subset
from stasc import checkpoint
from stasc.cli import main
from stasc.runs import RunDir


def test_cv_over_seeds_keeps_the_folds_and_reports_the_spread(tmp_path: Path, capsys) -> None:
    data = fsdd_subset(tmp_path, 2)
    run = tmp_path / "run"
    assert main(["cv", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample", "--k", "2",
                 "--seeds", "2", "--out", str(run), "--cache", str(tmp_path / "cache"), "--no-progress",
                 "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625",
                 "--set", "train.seed=7"]) == 0
    assert "over 2 seeds: accuracy" in capsys.readouterr().out
    members = RunDir(run).seed_runs()
    assert [m.root.name for m in members] == ["seed-7", "seed-8"]
    assert members[0].folds.read_text() == members[1].folds.read_text() == RunDir(run).folds.read_text()
    weights = [checkpoint.read(m.split("fold-0").best).weights for m in members]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])  # other seeds, other models
    report = json.loads(RunDir(run).report_json.read_text())
    assert list(report["rows"]) == ["sample, seed 7", "sample, seed 8"]
    assert any("over 2 seeds" in note for note in report["notes"])
    assert len(RunDir(run).model_checkpoints()) == 4  # the run's model: every seed's fold models averaged
    # the seeds of one preset as the members of an ensemble
    assert main(["ensemble", "--runs", str(run), "--out", str(tmp_path / "ens")]) == 0
    ensemble = json.loads((tmp_path / "ens" / "report.json").read_text())
    assert {"sample, seed-7", "sample, seed-8", "majority vote", "soft vote"} <= set(ensemble["rows"])
