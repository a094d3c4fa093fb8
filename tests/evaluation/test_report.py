import json
from pathlib import Path

import numpy as np
import pytest

from stasc.evaluation.metrics import clip_metrics, cross_validation_summary
from stasc.evaluation.predictions import Predictions, read_predictions, write_predictions
from stasc.evaluation.report import format_table, write_report

CLASSES = ("airport", "bus", "park")


def predictions(fold: int, probs: list[list[float]], labels: list[str]) -> Predictions:
    return Predictions([f"f{fold}-{i}" for i in range(len(probs))], labels, np.full(len(probs), fold), CLASSES,
                       np.array(probs, dtype=float))


def test_metrics_by_hand() -> None:
    p = predictions(0, [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]],
                    ["airport", "bus", "bus", "park"])
    metrics = clip_metrics(p)
    assert metrics["accuracy"] == 0.75
    assert metrics["per_class_accuracy"] == {"airport": 1.0, "bus": 0.5, "park": 1.0}
    assert metrics["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    expected = -np.mean(np.log([0.7, 0.7, 0.3, 0.8]))
    assert metrics["log_loss"] == pytest.approx(expected)


def test_cross_validation_mean_and_sample_std() -> None:
    folds = [predictions(0, [[1, 0, 0], [0, 1, 0]], ["airport", "bus"]),
             predictions(1, [[1, 0, 0], [1, 0, 0]], ["airport", "bus"])]
    summary = cross_validation_summary(folds)
    assert summary["accuracy"]["mean"] == 0.75
    assert summary["accuracy"]["std"] == pytest.approx(np.std([1.0, 0.5], ddof=1))
    assert summary["pooled"]["confusion_matrix"] == [[2, 0, 0], [1, 1, 0], [0, 0, 0]]


def test_predictions_round_trip_and_bad_files(tmp_path: Path) -> None:
    p = predictions(2, [[0.25, 0.25, 0.5]], ["park"])
    write_predictions(tmp_path / "p.csv", p)
    again = read_predictions(tmp_path / "p.csv")
    assert again.filenames == p.filenames and again.folds.tolist() == [2]
    np.testing.assert_allclose(again.probabilities, p.probabilities)
    (tmp_path / "bad.csv").write_text("filename,label,fold,airport,bus\nx,airport,0,0.9,0.9\n")
    with pytest.raises(ValueError, match="bad.csv: each clip's probabilities must sum to 1"):
        read_predictions(tmp_path / "bad.csv")
    (tmp_path / "cols.csv").write_text("name,label\nx,airport\n")
    with pytest.raises(ValueError, match="cols.csv: expected columns"):
        read_predictions(tmp_path / "cols.csv")


def test_report_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = {}
    for name in ("model-a", "majority vote"):
        folds = []
        for fold in range(3):
            probs = rng.dirichlet(np.ones(3), size=20)
            labels = [CLASSES[i] for i in rng.integers(0, 3, size=20)]
            folds.append(predictions(fold, probs.tolist(), labels))
        rows[name] = folds
    result = write_report(tmp_path, title="t", rows=rows, notes=["a note"], paper={"majority vote": 0.7386})
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["rows"]) == {"model-a", "majority vote"}
    text = (tmp_path / "report.md").read_text()
    assert "| model-a |" in text and "## Per-class accuracy" in text and "a note" in text and "73.9" in text
    for png in ("confusion_model-a.png", "per_class_majority-vote.png", "accuracy.png"):
        assert (tmp_path / png).stat().st_size > 5000
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = format_table(result["rows"])
    assert "model-a" in table and "±" in table
