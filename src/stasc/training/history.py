"""Learning curves that survive a resume: Lightning's CSV logger deletes ``metrics.csv`` when it
starts in a folder that has one; this one keeps it and appends, after dropping the rows of epochs
the resumed checkpoint will train again."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from lightning.fabric.loggers.csv_logs import _ExperimentWriter as _FabricExperimentWriter
from lightning.fabric.loggers.logger import rank_zero_experiment
from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from stasc.atomic import replacing


class _AppendingWriter(ExperimentWriter):
    def _check_log_dir_exists(self) -> None:
        # the base class removes an existing metrics.csv here; the history must stay
        if os.path.isfile(self.metrics_file_path):
            with open(self.metrics_file_path, newline="") as handle:
                self.metrics_keys = sorted(csv.DictReader(handle).fieldnames or [])


class HistoryCSVLogger(CSVLogger):
    """``CSVLogger`` that appends to an existing ``metrics.csv`` instead of deleting it."""

    @property
    @rank_zero_experiment
    def experiment(self) -> _FabricExperimentWriter:
        if self._experiment is None:
            os.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _AppendingWriter(log_dir=self.log_dir)
        return self._experiment


def drop_epochs_from(metrics: Path, first_epoch: int) -> None:
    """Remove the rows of ``first_epoch`` and later from a ``metrics.csv`` (they are trained again)."""
    if not metrics.is_file():
        return
    with metrics.open(newline="") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames or [], list(reader)
    kept = [row for row in rows if not row.get("epoch") or int(float(row["epoch"])) < first_epoch]
    if len(kept) == len(rows):
        return
    with replacing(metrics) as tmp, tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(kept)
