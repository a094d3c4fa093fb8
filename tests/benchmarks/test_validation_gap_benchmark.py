"""`benchmarks/validation_gap.py`: a tuning run's last models scored on its validation parts and on its test folds."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from stasc.config import load_experiment
from stasc.features.cache import FeatureCache

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
VARIANT = "temporal mean + frequency warp 0.15"
OTHER = "temporal mean instead of STAP"


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BENCHMARKS / script), "--data", "fsdd", *args],
                          capture_output=True, text=True)


def test_the_summary_counts_runs_per_validation_part_and_their_gaps(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    summarise = importlib.import_module("validation_gap").summarise
    runs = {"a": {"validation_part": "groups", "gap": 0.05}, "b": {"validation_part": "groups", "gap": -0.01},
            "c": {"validation_part": "groups", "gap": 0.02}, "d": {"validation_part": "fold", "gap": -0.02}}
    summary = summarise(runs)
    assert summary["groups"] == {"runs": 3, "higher_on_validation": 2, "mean_gap": pytest.approx(0.02),
                                 "min_gap": -0.01, "max_gap": 0.05}
    assert summary["fold"]["runs"] == 1 and summary["fold"]["higher_on_validation"] == 0


@pytest.mark.slow
def test_a_tuning_runs_last_models_are_scored_on_both_parts(tmp_path: Path) -> None:
    tuned = run("tuning.py", "--epochs", "1", "--clips-per-class", "2", "--variants", VARIANT, "--out",
                str(tmp_path / "tuning"))
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    tuned = run("tuning.py", "--epochs", "1", "--clips-per-class", "2", "--variants", OTHER, "--out",
                str(tmp_path / "other"))
    assert tuned.returncode == 0, tuned.stderr[-3000:]
    done = run("validation_gap.py", "--runs", str(tmp_path / "tuning"), "--out", str(tmp_path / "gap"))
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "gap" / "validation_gap.json").read_text())
    (name, scored), = result["runs"].items()  # the default finds the one variant the folder holds
    assert name == f"tuning: {VARIANT}" and scored["validation_part"] == "groups" and scored["splits"] == 5
    # the first 2 clips of each class in each fold: every one of them tested once over the five splits
    assert scored["clips"]["test"] == 100 and scored["clips"]["validation"] > 0
    assert scored["gap"] == pytest.approx(scored["validation"] - scored["test"])
    assert result["summary"]["groups"]["runs"] == 1
    assert (tmp_path / "gap" / "validation_gap.png").stat().st_size > 0 and "| groups | 1 |" in done.stdout

    # another copy of the data under the same names, sharing the cache, wrote every clip's features after these: the
    # benchmark must score the runs' own clips, not what the other copy left there
    config = load_experiment(next((tmp_path / "tuning").glob("*/config.yaml")))
    for spec in config.input.features:
        cache = FeatureCache(tmp_path / "tuning" / "cache", spec, mono_views=config.input.mono_views,
                             dtype=config.input.cache_dtype)
        with cache.writer() as writer:
            for name in list(cache.entries()):
                writer.add(name, np.zeros_like(cache.load(name)), source="1:1")
    again = run("validation_gap.py", "--runs", str(tmp_path / "tuning"), "--out", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads((tmp_path / "again" / "validation_gap.json").read_text())["runs"] == result["runs"]

    # a damaged checkpoint in one run: named, the other run still scored, exit status 1
    damaged = next((tmp_path / "other").glob("*/fold-2/checkpoints/last.ckpt"))
    damaged.write_bytes(b"not a checkpoint")
    both = run("validation_gap.py", "--runs", str(tmp_path / "tuning"), str(tmp_path / "other"),
               "--out", str(tmp_path / "both"))
    assert both.returncode == 1 and str(damaged.parents[2]) in both.stderr, both.stderr[-3000:]
    written = json.loads((tmp_path / "both" / "validation_gap.json").read_text())
    assert list(written["runs"]) == [f"tuning: {VARIANT}"] and list(written["not_scored"]) == [f"other: {OTHER}"]

    unknown = run("validation_gap.py", "--runs", str(tmp_path / "tuning"), "--rows", "no such variant")
    assert unknown.returncode == 2 and "'no such variant' is not a fsdd variant" in unknown.stderr
    empty = run("validation_gap.py", "--runs", str(tmp_path / "gap"), "--out", str(tmp_path / "gap2"))
    assert empty.returncode == 2 and "no finished run" in empty.stderr
