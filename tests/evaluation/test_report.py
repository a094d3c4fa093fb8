import json
from pathlib import Path

import numpy as np
import pytest

from stasc.evaluation.metrics import cross_validation_summary
from stasc.evaluation.predictions import Predictions
from stasc.evaluation.report import PAPER_TABLE2, PAPER_TABLE3, format_table, write_report

TAU = ("airport", "bus", "metro", "metro_station", "park", "public_square", "shopping_mall", "street_pedestrian",
       "street_traffic", "tram")
PNG = b"\x89PNG\r\n\x1a\n"


def fold_predictions(rng: np.random.Generator, fold: int, skill: float, clips: int = 40) -> Predictions:
    labels = rng.integers(0, len(TAU), size=clips)
    logits = rng.normal(size=(clips, len(TAU)))
    logits[np.arange(clips), labels] += skill
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return Predictions([f"audio/f{fold}-{i}.wav" for i in range(clips)], [TAU[i] for i in labels],
                       np.full(clips, fold), TAU, probs)


def lightning_metrics(path: Path, epochs: int, *, with_train: bool = True) -> Path:
    # Lightning's CSVLogger writes validation and training metrics on separate rows
    lines = ["epoch,step,train_loss,train_patch_acc,val_acc,val_loss,val_patch_loss"]
    for epoch in range(epochs):
        lines.append(f"{epoch},{10 * epoch + 9},,,{0.4 + 0.05 * epoch},{1.5 - 0.1 * epoch},{1.6 - 0.1 * epoch}")
        if with_train:
            lines.append(f"{epoch},{10 * epoch + 9},{2.0 - 0.2 * epoch},{0.3 + 0.06 * epoch},,,")
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("report")
    rng = np.random.default_rng(0)
    rows = {"mfcc-stap": [fold_predictions(rng, f, 2.0) for f in range(3)],
            "majority vote": [fold_predictions(rng, f, 3.0) for f in range(3)]}
    histories = {"mfcc-stap": [lightning_metrics(out / "runs" / "fold0" / "logs" / "metrics.csv", 6),
                               lightning_metrics(out / "runs" / "fold1" / "logs" / "metrics.csv", 4, with_train=False),
                               out / "runs" / "fold2" / "logs" / "metrics.csv"]}  # missing: skipped
    protocol = {"selection": "validation", "validation_fraction": 0.125, "folds": "dataset", "max_epochs": 30,
                "monitor": "val_acc", "description": "the dataset's own folds; model selected on a held-out part"}
    result = write_report(out, title="synthetic report", rows=rows, histories=histories, notes=["a note"],
                          paper=PAPER_TABLE2, protocol=protocol)
    return out, {"result": result, "rows": rows}


def test_report_json_round_trips(report: tuple[Path, dict]) -> None:
    out, made = report
    data = json.loads((out / "report.json").read_text())
    assert data["title"] == "synthetic report" and data["notes"] == ["a note"]
    assert list(data["rows"]) == ["mfcc-stap", "majority vote"]
    assert data["rows"] == json.loads(json.dumps(made["result"]["rows"]))
    expected = cross_validation_summary(made["rows"]["mfcc-stap"])
    assert data["rows"]["mfcc-stap"]["accuracy"] == pytest.approx(expected["accuracy"])
    assert data["paper"]["majority vote"] == pytest.approx(0.7386)
    assert data["protocol"]["selection"] == "validation" and data["protocol"]["folds"] == "dataset"
    assert data["rows"]["mfcc-stap"]["macro_accuracy"] == pytest.approx(expected["macro_accuracy"])


def test_report_markdown_has_the_tables(report: tuple[Path, dict]) -> None:
    out, made = report
    text = (out / "report.md").read_text()
    summary = made["result"]["rows"]["mfcc-stap"]
    accuracy = f"{100 * summary['accuracy']['mean']:.1f} ± {100 * summary['accuracy']['std']:.1f}"
    per_fold = ", ".join(f"{100 * f['accuracy']:.1f}" for f in summary["folds"])
    assert f"| mfcc-stap | {accuracy} |" in text and per_fold in text and "| 69.6 |" in text
    assert "| majority vote |" in text and "| 73.9 |" in text
    assert "## Per-class accuracy" in text
    assert "| class | mfcc-stap | majority vote | paper baseline | paper ensemble |" in text
    assert "| street_traffic |" in text and "| 86.7 | 91.1 |" in text  # the paper's Table 3 row
    assert "## Confusion matrix: majority vote" in text
    pooled = summary["pooled"]["confusion_matrix"]
    assert "| airport | " + " | ".join(str(v) for v in pooled[0]) + " |" in text
    for image in ("confusion_mfcc-stap.png", "per_class_majority-vote.png", "learning_curves_mfcc-stap.png",
                  "accuracy.png"):
        assert f"]({image})" in text
    assert text.rstrip().endswith("- a note")
    assert "**Protocol:** the dataset's own folds; model selected on a held-out part." in text


def test_report_plots_are_real_images(report: tuple[Path, dict]) -> None:
    out, made = report
    written = {p.name for p in made["result"]["paths"].values()}
    expected = {"confusion_mfcc-stap.png", "confusion_majority-vote.png", "per_class_mfcc-stap.png",
                "per_class_majority-vote.png", "learning_curves_mfcc-stap.png", "accuracy.png"}
    assert expected | {"report.json", "report.md"} == written
    assert not (out / "learning_curves_majority-vote.png").exists()  # no histories for that row
    for name in expected:
        data = (out / name).read_bytes()
        assert data[:8] == PNG and len(data) > 10_000, name
    assert not list(out.glob(".*tmp*"))


def test_single_row_report_has_no_accuracy_bars(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    result = write_report(tmp_path, title="one", rows={"quick": [fold_predictions(rng, 0, 1.0, clips=12)]})
    assert not (tmp_path / "accuracy.png").exists()
    assert "paper" not in (tmp_path / "report.md").read_text()
    assert result["rows"]["quick"]["accuracy"]["std"] == 0.0
    with pytest.raises(ValueError, match="at least one row"):
        write_report(tmp_path, title="none", rows={})


def test_format_table(report: tuple[Path, dict]) -> None:
    _, made = report
    table = format_table(made["result"]["rows"], paper=PAPER_TABLE2)
    lines = table.splitlines()
    assert len(lines) == 4 and "paper" in lines[0]
    assert lines[2].startswith("mfcc-stap") and "±" in lines[2] and lines[2].rstrip().endswith("69.6")
    assert lines[3].startswith("majority vote") and lines[3].rstrip().endswith("73.9")


def test_paper_constants_cover_the_presets_and_classes() -> None:
    presets = {"mfcc", "mfcc-stap", "mfcc-stap-mixup", "cqt-mfcc", "cqt-mfcc-stap", "hpss-mfcc-stap-mixup"}
    assert presets <= set(PAPER_TABLE2) and PAPER_TABLE2["mfcc-stap-mixup"] == 0.711
    assert set(PAPER_TABLE3) == set(TAU) and PAPER_TABLE3["bus"] == (0.623, 0.910)
