"""Small real datasets for tests: subsets of ../shared/data as CSVs in a temporary folder."""

from __future__ import annotations

import csv
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FSDD = SHARED_DATA / "fsdd"
ESC10 = SHARED_DATA / "esc10"

# a tiny network and two epochs keep training tests quick on real speech
TINY = ["--set", "train.max_epochs=2", "--set", "model.width_multiplier=0.0625", "--set", "train.batch_size=32"]


def _write(rows: list[dict[str, str]], out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


def fsdd_subset(folder: Path, per_digit_and_speaker: int = 4, *, digits: str = "0123456789") -> Path:
    """A CSV over FSDD's recordings (``audio-root`` FSDD/recordings): the first ``per_digit_and_speaker``
    takes of each digit by each of the five speakers, grouped by speaker."""
    rows = [r for r in csv.DictReader((FSDD / "labels.csv").open())
            if int(r["index"]) < per_digit_and_speaker and r["label"] in digits]
    return _write(rows, folder / "fsdd-subset.csv")


def esc_subset(folder: Path, per_class_and_fold: int = 2, *, folds: str = "12345") -> Path:
    """A CSV over ESC-10's recordings with their official folds and source-recording groups: the first
    ``per_class_and_fold`` clips of each class in each fold (whole groups kept together)."""
    rows = list(csv.DictReader((ESC10 / "labels.csv").open()))
    kept, seen = [], {}
    for row in rows:
        if row["fold"] not in folds:
            continue
        key = (row["label"], row["fold"])
        groups = seen.setdefault(key, [])
        if row["group"] in groups or len(groups) < per_class_and_fold:
            if row["group"] not in groups:
                groups.append(row["group"])
            kept.append({**row, "filename": str(ESC10 / row["filename"])})
    return _write(kept, folder / "esc-subset.csv")


# `python -c` of a `stasc` whose every training step takes 0.5 s more, so a test can kill it mid-run on any machine
KILLABLE_TRAINING = textwrap.dedent(
    """
    import sys, time
    from stasc.training.module import SceneClassifier
    step = SceneClassifier.training_step

    def slow_step(self, batch, batch_idx):
        time.sleep(0.5)  # stands in for a long real epoch, so the kill lands mid-run on any machine
        return step(self, batch, batch_idx)

    SceneClassifier.training_step = slow_step
    from stasc.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def train_until_killed(args: list[str], ready: Callable[[], bool], *, timeout_seconds: float = 300) -> None:
    """Run ``stasc ARGS`` (slowed down) in a child process and kill it (SIGKILL, no clean-up) once ``ready()``."""
    proc = subprocess.Popen([sys.executable, "-c", KILLABLE_TRAINING, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if ready():
            break
        if proc.poll() is not None:
            pytest.fail(f"training ended before the kill: {proc.communicate()[1].decode()[-2000:]}")
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
