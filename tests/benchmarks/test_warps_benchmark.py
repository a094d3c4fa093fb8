"""`benchmarks/warps.py`: trained runs re-scored with sets of test-time frequency warps."""

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def warps(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("warps")


def test_a_warp_set_is_comma_separated_factors_each_in_range(warps) -> None:  # type: ignore[no-untyped-def]
    assert warps.warp_set("0.9,1,1.1") == (0.9, 1.0, 1.1)
    assert warps.label((1.0,)) == "none (1)" and warps.label((0.9, 1.0, 1.1)) == "0.9, 1, 1.1"
    assert warps.label((1.0,), "sound") == "none (1); patches weighted by sound"
    assert warps.label((1.0,), "sound", 8) == "none (1); patches weighted by sound; patches every 8 frames"
    assert warps.frames("8") == 8
    for bad_shift in ("0", "-4", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive whole number of frames"):
            warps.frames(bad_shift)
    for bad, problem in (("0.9;1.1", "comma-separated"), ("0.2,1", r"\[0.5, 2\]")):
        with pytest.raises(argparse.ArgumentTypeError, match=problem):
            warps.warp_set(bad)


@pytest.mark.slow
def test_a_tuning_run_rescored_with_and_without_warps_on_fsdd_end_to_end(tmp_path: Path) -> None:
    variant = "warp 0.15, 1/2 width, bf16, 2 members averaged"
    tuning = subprocess.run([sys.executable, str(BENCHMARKS / "tuning.py"), "--data", "fsdd", "--epochs", "1",
                             "--clips-per-class", "2", "--variants", variant, "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert tuning.returncode == 0, tuning.stderr[-3000:]
    done = subprocess.run([sys.executable, str(BENCHMARKS / "warps.py"), "--data", "fsdd", "--runs", str(tmp_path),
                           "--rows", variant, "--warps", "1", "0.9,1,1.1", "--patch-weights", "equal", "sound",
                           "--out", str(tmp_path / "warps")],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "warps" / "warps.json").read_text())
    assert report["part"] == "validation" and set(report["scorings"]) == {
        "none (1)", "0.9, 1, 1.1", "none (1); patches weighted by sound", "0.9, 1, 1.1; patches weighted by sound"}
    rows = report["scorings"].values()
    assert len({r["clip_predictions"] for r in rows}) == 1 and all(r["clip_predictions"] > 0 for r in rows)
    assert all(0 <= r["accuracy"] <= 1 and r["log_loss"] > 0 and len(r["per_seed"]) == 1 for r in rows)
    assert all(len(r["per_split"]) == 1 and len(r["per_split"][0]) == 5 for r in rows)  # one seed, five splits
    assert "no test fold was read" in (tmp_path / "warps" / "warps.md").read_text()
    assert (tmp_path / "warps" / "warps.png").stat().st_size > 0
    denser = subprocess.run([sys.executable, str(BENCHMARKS / "warps.py"), "--data", "fsdd", "--runs", str(tmp_path),
                             "--rows", variant, "--warps", "1", "--patch-shifts", "16", "4",
                             "--out", str(tmp_path / "w1")],
                            capture_output=True, text=True)
    assert denser.returncode == 0, denser.stderr[-3000:]
    shifted = json.loads((tmp_path / "w1" / "warps.json").read_text())["scorings"]
    assert set(shifted) == {"none (1); patches every 16 frames", "none (1); patches every 4 frames"}
    # the run's own shift (the variant's 16) re-cut by --patch-shifts scores exactly as the run's own grid does
    assert shifted["none (1); patches every 16 frames"]["per_split"] == report["scorings"]["none (1)"]["per_split"]
    assert {r["patch_shift"] for r in shifted.values()} == {16, 4}
    assert len({r["clip_predictions"] for r in shifted.values()}) == 1
    missing = subprocess.run([sys.executable, str(BENCHMARKS / "warps.py"), "--data", "fsdd", "--runs", str(tmp_path),
                              "--rows", "no such variant", "--out", str(tmp_path / "w2")],
                             capture_output=True, text=True)
    assert missing.returncode == 2 and "not a run of" in missing.stderr
