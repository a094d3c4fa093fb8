"""The run folder: the one definition of where a run keeps its configuration, splits and reports.

Training writes it, evaluation, prediction, export and the CLI read it::

    RUN/config.yaml                    the resolved experiment
    RUN/folds.csv                      the fold of every clip (cross-validation)
    RUN/<split>/checkpoints/best.ckpt  the selected model; last.ckpt, the latest epoch (for --resume)
    RUN/<split>/logs/metrics.csv       per-epoch metrics; RUN/<split>/tensorboard/ the same for TensorBoard
    RUN/<split>/predictions.csv        clip probabilities of the split's test clips (the selected model)
    RUN/<split>/result.json            written last: the split is complete
    RUN/report.md, report.json, *.png  the report

Splits are ``fold-N`` (cross-validation: fold N is the test fold), ``official`` (a dataset's
official train/test split) and ``final`` (every labelled clip but the validation part: the model
to use on new audio). A run folder is one model everywhere: its ``final`` split when that is
finished, else the average of its finished folds' models (:meth:`RunDir.model_checkpoints`).

A run repeated over seeds (``--seeds N``) holds one run folder per seed, ``RUN/seed-S/``, each
laid out as above with the same folds; its model is the average of theirs.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FINAL_SPLIT = "final"
OFFICIAL_SPLIT = "official"


def fold_split(fold: int) -> str:
    return f"fold-{fold}"


def seed_run(seed: int) -> str:
    return f"seed-{seed}"


@dataclass(frozen=True)
class SplitDir:
    """One trained split of a run."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    @property
    def best(self) -> Path:
        return self.checkpoints / "best.ckpt"

    @property
    def last(self) -> Path:
        return self.checkpoints / "last.ckpt"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def metrics(self) -> Path:
        return self.logs / "metrics.csv"

    @property
    def tensorboard(self) -> Path:
        return self.path / "tensorboard"

    @property
    def predictions(self) -> Path:
        return self.path / "predictions.csv"

    @property
    def result(self) -> Path:
        return self.path / "result.json"

    @property
    def finished(self) -> bool:
        return self.result.is_file()

    def read_result(self) -> dict[str, Any]:
        return dict(json.loads(self.result.read_text()))

    def read_history(self) -> dict[str, list[tuple[int, float]]]:
        return read_history(self.metrics)


def read_history(metrics: Path) -> dict[str, list[tuple[int, float]]]:
    """Every metric of a ``metrics.csv`` as ``(epoch, value)`` pairs in the order logged (Lightning writes
    training and validation metrics of one epoch on separate rows)."""
    series: dict[str, list[tuple[int, float]]] = {}
    with metrics.open(newline="") as handle:
        for row in csv.DictReader(handle):
            epoch = row.get("epoch")
            if not epoch:
                continue
            for key, value in row.items():
                if key in ("epoch", "step") or not value:
                    continue
                series.setdefault(key, []).append((int(float(epoch)), float(value)))
    return series


def _split_order(split: SplitDir) -> tuple[int, int | str]:
    name = split.name
    if name.startswith("fold-") and name[5:].lstrip("-").isdigit():
        return (0, int(name[5:]))
    return (1, name)


@dataclass(frozen=True)
class RunDir:
    """A run folder (see the module docstring)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def folds(self) -> Path:
        return self.root / "folds.csv"

    @property
    def report_json(self) -> Path:
        return self.root / "report.json"

    @property
    def report_md(self) -> Path:
        return self.root / "report.md"

    @staticmethod
    def is_run(path: Path) -> bool:
        return Path(path).is_dir() and (Path(path) / "config.yaml").is_file()

    def split(self, name: str) -> SplitDir:
        return SplitDir(self.root / name)

    def finished_splits(self) -> list[SplitDir]:
        """Every finished split, folds in fold order first."""
        found = [SplitDir(p.parent) for p in self.root.glob("*/result.json")]
        return sorted(found, key=_split_order)

    def test_splits(self) -> list[SplitDir]:
        """The finished splits that scored held-out clips (folds, official): what reports show."""
        return [s for s in self.finished_splits() if s.name != FINAL_SPLIT]

    def seed_runs(self) -> list[RunDir]:
        """The run of each seed of a run repeated over seeds (``RUN/seed-S/``), by seed; [] otherwise."""
        found = [RunDir(p) for p in self.root.glob("seed-*") if RunDir.is_run(p) and p.name[5:].lstrip("-").isdigit()]
        return sorted(found, key=lambda run: int(run.root.name[5:]))

    def model_checkpoints(self) -> list[Path]:
        """The checkpoints that make this run's model: ``final`` alone when it is finished, else every
        finished split's (their probabilities are averaged); over seeds, every seed run's."""
        if self.seed_runs():
            return [c for run in self.seed_runs() for c in run.model_checkpoints()]
        final = self.split(FINAL_SPLIT)
        if final.finished and final.best.is_file():
            return [final.best]
        return [s.best for s in self.finished_splits() if s.best.is_file()]

    def name(self) -> str:
        """The run's experiment name (from its config), else the folder name."""
        import yaml

        if self.config.is_file():
            data = yaml.safe_load(self.config.read_text()) or {}
            if isinstance(data, dict) and data.get("name"):
                return str(data["name"])
        return self.root.name
