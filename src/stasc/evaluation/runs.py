"""Reports of run folders: gather each test split's predictions, logs and protocol, write the report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from stasc.complexity import model_complexity
from stasc.config import load_experiment
from stasc.evaluation.devices import breakdown
from stasc.evaluation.metrics import cross_validation_summary
from stasc.evaluation.predictions import Predictions, read_predictions
from stasc.evaluation.protocol import Protocol
from stasc.evaluation.report import write_report
from stasc.runs import RunDir


def run_predictions(run: RunDir) -> list[Predictions]:
    """The test-clip predictions of every finished split that has test clips (folds in order)."""
    splits = run.test_splits()
    if not splits:
        raise FileNotFoundError(f"{run.root}: no finished split with test clips (no */result.json beside a "
                                "predictions.csv); train it first")
    return [read_predictions(split.predictions) for split in splits]


def run_protocol(run: RunDir) -> dict[str, Any]:
    """The protocol of the run's test splits (they share one), with its description."""
    saved = [s.read_result().get("protocol") for s in run.test_splits()]
    # read through Protocol, so a split written before a field existed compares by that field's default
    found = {tuple(sorted((k, str(v)) for k, v in p.items())): p
             for p in (Protocol.from_dict(p).to_dict() for p in saved if p is not None)}
    if len(found) != 1 or None in saved:
        return {"description": "the splits were trained under different protocols; see each RUN/<split>/result.json"}
    return next(iter(found.values()))


def over_seeds(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean ± std over seeds of each seed's mean over folds (accuracy, macro accuracy, log losses)."""
    out = {}
    for metric in ("accuracy", "macro_accuracy", "log_loss", "mean_class_wise_log_loss"):
        values = np.array([row[metric]["mean"] for row in rows.values()], dtype=np.float64)
        out[metric] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
    return out


def evaluate_seeds(run: RunDir, notes: list[str] | None = None) -> dict[str, Any]:
    """The report of a run repeated over seeds: each seed's run reported, and a report at the top
    with one row per seed and the mean ± std over seeds."""
    members = run.seed_runs()
    for member in members:
        evaluate_run(member)
    name = run.name()
    rows = {f"{name}, seed {member.root.name[5:]}": run_predictions(member) for member in members}
    summaries = {key: cross_validation_summary(value) for key, value in rows.items()}
    seeds = over_seeds(summaries)
    lines = [f"over {len(members)} seeds (each the mean over its folds): "
             + "; ".join(f"{metric} {100 * v['mean']:.1f} ± {100 * v['std']:.1f} %" if "accuracy" in metric else
                         f"{metric} {v['mean']:.3f} ± {v['std']:.3f}" for metric, v in seeds.items())]
    protocol = run_protocol(members[0])
    result = write_report(run.root, title=f"{name}: {len(members)} seeds", rows=rows, notes=lines + list(notes or []),
                          protocol=protocol)
    return {"rows": result["rows"], "paths": result["paths"], "protocol": protocol, "over_seeds": seeds,
            "breakdown": None}


def evaluate_run(run: str | Path | RunDir, *, notes: list[str] | None = None) -> dict[str, Any]:
    """(Re)write ``RUN/report.{json,md}`` and plots; returns the summary rows, the written paths and the protocol."""
    run = run if isinstance(run, RunDir) else RunDir(Path(run))
    if run.seed_runs():
        return evaluate_seeds(run, notes)
    name = run.name()
    splits = run.test_splits()
    predictions = run_predictions(run)
    histories = [s.metrics for s in splits if s.metrics.is_file()]
    all_notes = list(notes or [])
    if run.config.is_file():
        config = load_experiment(run.config)
        model = config.model
        all_notes.append(
            f"configuration: features {', '.join(f.label for f in config.input.features)}, pooling "
            f"{model.pooling.to_dict()}, head {model.head}, width ×{model.width_multiplier}, mixup "
            f"{'α=' + str(config.mixup.alpha) if config.mixup.enabled else 'off'}, augmentation "
            f"{config.augment.to_dict() if config.augment.enabled else 'off'}, clip_norm {config.input.clip_norm}, "
            f"lr {config.train.lr} ({config.train.lr_schedule}); the full resolved configuration is {run.config}"
        )
    protocol = run_protocol(run)
    complexity = {name: model_complexity(load_experiment(run.config)).lines()} if run.config.is_file() else None
    devices = breakdown(predictions, [s.read_result().get("attributes", {}) for s in splits])
    result = write_report(run.root, title=f"{name}: {len(splits)} split(s)", rows={name: predictions},
                          histories={name: histories}, notes=all_notes, protocol=protocol, complexity=complexity,
                          breakdown=devices)
    return {"rows": result["rows"], "paths": result["paths"], "protocol": protocol, "breakdown": devices}
