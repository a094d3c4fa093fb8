"""`benchmarks/members.py`: members of tuning runs alone and combined on the runs' shared validation parts."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def members(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    return importlib.import_module("members")


def split(files: list[str], targets: list[int], *members: list[list[float]]) -> dict:
    return {"files": files, "targets": np.asarray(targets), "members": [np.asarray(m) for m in members]}


def test_each_way_of_combining_one_seeds_members_is_scored_clip_by_clip(members) -> None:  # type: ignore[no-untyped-def]
    files, targets = ["a", "b"], [0, 1]
    # run A's members each get one clip right, and together both; run B's only member gets both wrong; B with
    # either member of A gets one clip right, all three together both
    a = split(files, targets, [[0.9, 0.1], [0.6, 0.4]], [[0.4, 0.6], [0.1, 0.9]])
    b = split(files, targets, [[0.25, 0.75], [0.7, 0.3]])
    rows = members.combinations({"A": {"fold-1": a}, "B": {"fold-1": b}})
    accuracy = {name: float(np.concatenate([c for c, _ in v]).mean()) for name, v in rows.items()}
    assert accuracy == {
        "one member of A": 0.5, "A (its 2 members averaged)": 1.0,
        "one member of B": 0.0,  # one member: no average of its own
        "one member of A + one of B": 0.5,
        "all 3 members of the runs above": 1.0,
    }
    loss = rows["A (its 2 members averaged)"][0][1]
    assert np.allclose(loss, -np.log([0.65, 0.65]))


def test_runs_tuned_on_different_validation_parts_are_refused(members) -> None:  # type: ignore[no-untyped-def]
    a = split(["a", "b"], [0, 1], [[0.9, 0.1], [0.1, 0.9]])
    b = split(["a", "c"], [0, 1], [[0.9, 0.1], [0.1, 0.9]])
    with pytest.raises(ValueError, match="fold-1: the runs were not tuned on the same validation part"):
        members.combinations({"A": {"fold-1": a}, "B": {"fold-1": b}})


@pytest.mark.slow
def test_members_of_two_tuning_runs_on_fsdd_end_to_end(tmp_path: Path) -> None:
    variants = ("warp 0.15, 1/2 width, bf16, 2 members averaged", "warp 0.15, 1/2 width, bf16")
    tuning = subprocess.run([sys.executable, str(BENCHMARKS / "tuning.py"), "--data", "fsdd", "--epochs", "1",
                             "--clips-per-class", "2", "--variants", ";".join(variants), "--out", str(tmp_path)],
                            capture_output=True, text=True)
    assert tuning.returncode == 0, tuning.stderr[-3000:]
    done = subprocess.run([sys.executable, str(BENCHMARKS / "members.py"), "--data", "fsdd", "--tuning", str(tmp_path),
                           "--runs", *variants, "--out", str(tmp_path / "members")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = json.loads((tmp_path / "members" / "members.json").read_text())["rows"]
    assert set(rows) == {f"one member of {variants[0]}", f"{variants[0]} (its 2 members averaged)",
                         f"one member of {variants[1]}",
                         f"one member of {variants[0]} + one of {variants[1]}", "all 3 members of the runs above"}
    clips = rows[f"{variants[0]} (its 2 members averaged)"]["clip_predictions"]
    assert clips > 0
    assert rows[f"one member of {variants[0]}"]["clip_predictions"] == 2 * clips
    assert rows[f"one member of {variants[0]} + one of {variants[1]}"]["clip_predictions"] == 2 * clips
    assert all(0 <= r["accuracy"] <= 1 and r["log_loss"] > 0 for r in rows.values())
    assert "no test fold was read" in (tmp_path / "members" / "members.md").read_text()
    assert (tmp_path / "members" / "members.png").stat().st_size > 0
