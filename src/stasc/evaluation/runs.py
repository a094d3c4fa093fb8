"""Reports of run folders: gather each split's predictions and logs, write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stasc.evaluation.predictions import Predictions, read_predictions
from stasc.evaluation.report import write_report


def split_folders(run: Path) -> list[Path]:
    """The finished splits of a run (folders holding ``result.json``), in fold order."""
    return sorted((p.parent for p in run.glob("*/result.json")), key=lambda p: (len(p.name), p.name))


def run_name(run: Path) -> str:
    config = run / "config.yaml"
    if config.is_file():
        return str((yaml.safe_load(config.read_text()) or {}).get("name", run.name))
    return run.name


def run_predictions(run: Path) -> list[Predictions]:
    folders = split_folders(run)
    if not folders:
        raise FileNotFoundError(f"{run}: no finished split (no */result.json); train it first")
    return [read_predictions(folder / "predictions.csv") for folder in folders]


def evaluate_run(run: str | Path, *, notes: list[str] | None = None) -> dict[str, Any]:
    """(Re)write ``RUN/report.{json,md}`` and plots; returns the summary rows and the written paths."""
    run = Path(run)
    name = run_name(run)
    folders = split_folders(run)
    predictions = run_predictions(run)
    histories = [folder / "logs" / "metrics.csv" for folder in folders if (folder / "logs" / "metrics.csv").is_file()]
    config_text = (run / "config.yaml").read_text() if (run / "config.yaml").is_file() else ""
    all_notes = list(notes or [])
    if config_text:
        config = yaml.safe_load(config_text)
        model = config.get("model", {})
        all_notes.append(
            f"configuration: pooling={model.get('pooling')}, head={model.get('head')}, "
            f"stap_norm={model.get('stap_norm', False)}, width_multiplier={model.get('width_multiplier')}, "
            f"mixup={config.get('mixup', {}).get('enabled')}, "
            f"clip_norm={config.get('input', {}).get('clip_norm', 'none')}, "
            f"lr={config.get('train', {}).get('lr')} ({config.get('train', {}).get('lr_schedule', 'constant')}); "
            f"the full resolved configuration is {run / 'config.yaml'}"
        )
    result = write_report(run, title=f"{name}: {len(folders)} split(s)", rows={name: predictions},
                          histories={name: histories}, notes=all_notes)
    return {"rows": result["rows"], "paths": result["paths"]}
