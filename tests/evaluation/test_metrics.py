from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, log_loss

from stasc.evaluation.metrics import clip_metrics, cross_validation_summary
from stasc.evaluation.predictions import Predictions, concat, read_predictions, write_predictions

CLASSES = ("airport", "bus", "park")


def predictions(fold: int, probs: list[list[float]], labels: list[str]) -> Predictions:
    return Predictions([f"f{fold}-{i}" for i in range(len(probs))], labels, np.full(len(probs), fold), CLASSES,
                       np.array(probs, dtype=float))


def test_metrics_by_hand() -> None:
    # clip 2 (a bus) is taken for an airport; everything else is right
    p = predictions(0, [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]],
                    ["airport", "bus", "bus", "park"])
    metrics = clip_metrics(p)
    assert metrics["clips"] == 4
    assert metrics["accuracy"] == 0.75
    assert metrics["macro_accuracy"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)  # the mean of per-class accuracies
    assert metrics["per_class_accuracy"] == {"airport": 1.0, "bus": 0.5, "park": 1.0}
    assert metrics["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert metrics["log_loss"] == pytest.approx(-np.mean(np.log([0.7, 0.7, 0.3, 0.8])))
    assert p.predicted == ["airport", "bus", "airport", "park"]


def test_macro_accuracy_is_sklearns_balanced_accuracy_on_unbalanced_sets() -> None:
    rng = np.random.default_rng(3)
    for trial in range(20):
        n = int(rng.integers(5, 60))
        truth = rng.choice(3, size=n, p=[0.7, 0.2, 0.1])  # unbalanced; a class may be absent
        probs = rng.dirichlet(np.ones(3), size=n)
        probs[np.arange(n), truth] += rng.random(n)  # better than chance, not always right
        probs /= probs.sum(1, keepdims=True)
        labels = [CLASSES[i] for i in truth]
        metrics = clip_metrics(predictions(trial, probs.tolist(), labels))
        with np.errstate(all="ignore"), __import__("warnings").catch_warnings():
            __import__("warnings").simplefilter("ignore")  # sklearn warns on a class only predicted
            expected = balanced_accuracy_score(truth, probs.argmax(1))
        assert metrics["macro_accuracy"] == pytest.approx(expected, abs=1e-12), trial
    lopsided = predictions(0, [[1, 0, 0]] * 9 + [[1, 0, 0]], ["airport"] * 9 + ["bus"])
    assert clip_metrics(lopsided)["accuracy"] == 0.9 and clip_metrics(lopsided)["macro_accuracy"] == 0.5


def test_class_wise_log_loss_and_the_accuracy_interval_match_scikit_learn_and_scipy() -> None:
    from scipy.stats import binomtest

    rng = np.random.default_rng(5)
    truth = rng.choice(3, size=80, p=[0.5, 0.3, 0.2])
    probs = rng.dirichlet(np.ones(3), size=80)
    probs[np.arange(80), truth] += 1.0
    probs /= probs.sum(1, keepdims=True)
    metrics = clip_metrics(predictions(0, probs.tolist(), [CLASSES[i] for i in truth]))
    for i, name in enumerate(CLASSES):
        expected = log_loss(truth[truth == i], probs[truth == i], labels=[0, 1, 2])
        assert metrics["class_wise_log_loss"][name] == pytest.approx(expected, rel=1e-12)
    assert metrics["mean_class_wise_log_loss"] == pytest.approx(np.mean(list(metrics["class_wise_log_loss"].values())))
    hits = int((probs.argmax(1) == truth).sum())
    interval = binomtest(hits, 80).proportion_ci(confidence_level=0.95, method="wilson")
    assert metrics["accuracy_ci95"] == pytest.approx([interval.low, interval.high], abs=1e-9)
    missing = clip_metrics(predictions(0, [[0.9, 0.05, 0.05]], ["airport"]))
    assert missing["class_wise_log_loss"]["bus"] is None  # no clips of the class: no loss, left out of the mean
    assert missing["mean_class_wise_log_loss"] == pytest.approx(-np.log(0.9))


def test_log_loss_matches_sklearn_and_clips_certain_mistakes() -> None:
    rng = np.random.default_rng(1)
    probs = rng.dirichlet(np.ones(3), size=30)
    labels = [CLASSES[i] for i in rng.integers(0, 2, size=30)]  # no park: the loss still counts all 3 classes
    expected = log_loss(labels, probs, labels=list(CLASSES))
    assert clip_metrics(predictions(0, probs.tolist(), labels))["log_loss"] == pytest.approx(expected, rel=1e-12)
    # a certain mistake costs -log(1e-15), not infinity; a class without clips has no accuracy
    certain = clip_metrics(predictions(0, [[0.0, 1.0, 0.0]], ["airport"]))
    assert certain["log_loss"] == pytest.approx(-np.log(1e-15), rel=1e-6)
    assert certain["per_class_accuracy"] == {"airport": 0.0, "bus": None, "park": None}


def test_cross_validation_mean_and_sample_std() -> None:
    folds = [predictions(0, [[1, 0, 0], [0, 1, 0]], ["airport", "bus"]),
             predictions(1, [[1, 0, 0], [1, 0, 0]], ["airport", "bus"]),
             predictions(2, [[0, 0, 1], [0, 1, 0], [1, 0, 0], [0, 0, 1]], ["park", "bus", "bus", "park"])]
    summary = cross_validation_summary(folds)
    assert summary["n_folds"] == 3 and summary["clips"] == 8
    assert [f["accuracy"] for f in summary["folds"]] == [1.0, 0.5, 0.75]
    assert summary["accuracy"]["mean"] == pytest.approx(0.75)
    assert summary["accuracy"]["std"] == pytest.approx(0.25)  # sample std (ddof=1) of 1, 0.5, 0.75
    # bus: 1, 0, 0.5 over the folds; park only in fold 2, so its std over one value is 0
    assert summary["per_class_accuracy"]["bus"]["mean"] == pytest.approx(0.5)
    assert summary["per_class_accuracy"]["bus"]["std"] == pytest.approx(0.5)
    assert summary["per_class_accuracy"]["park"] == {"mean": 1.0, "std": 0.0}
    assert summary["pooled"]["confusion_matrix"] == [[2, 0, 0], [2, 2, 0], [0, 0, 2]]
    logs = [f["log_loss"] for f in summary["folds"]]
    assert summary["log_loss"]["std"] == pytest.approx(np.std(logs, ddof=1))
    single = cross_validation_summary(folds[:1])
    assert single["accuracy"] == {"mean": 1.0, "std": 0.0}
    with pytest.raises(ValueError, match="no folds"):
        cross_validation_summary([])


def test_predictions_round_trip_and_concat(tmp_path: Path) -> None:
    p = predictions(2, [[0.25, 0.25, 0.5], [0.1, 0.6, 0.3]], ["park", "bus"])
    write_predictions(tmp_path / "run" / "predictions.csv", p)
    assert (tmp_path / "run" / "predictions.csv").read_text().splitlines()[0] == "filename,label,fold,airport,bus,park"
    assert [f.name for f in (tmp_path / "run").iterdir()] == ["predictions.csv"]  # no temporary file left
    again = read_predictions(tmp_path / "run" / "predictions.csv")
    assert again.filenames == p.filenames and again.labels == p.labels and again.folds.tolist() == [2, 2]
    assert again.classes == CLASSES
    np.testing.assert_allclose(again.probabilities, p.probabilities)
    joined = concat([p, predictions(3, [[1, 0, 0]], ["airport"])])
    assert len(joined) == 3 and joined.folds.tolist() == [2, 2, 3]
    assert [len(part) for part in joined.by_fold()] == [2, 1]


@pytest.mark.parametrize(
    "text,match",
    [
        ("", "empty file"),
        ("name,label,fold,airport,bus\nx,airport,0,0.5,0.5\n", "expected the columns filename,label,fold"),
        ("filename,label,fold,airport\nx,airport,0,1\n", "at least 2 distinct"),
        ("filename,label,fold,airport,airport\nx,airport,0,0.5,0.5\n", "at least 2 distinct"),
        ("filename,label,fold,airport,bus\nx,airport,0,0.5\n", "line 2: 4 fields, the header has 5"),
        ("filename,label,fold,airport,bus\nx,tram,0,0.5,0.5\n", r"unknown class names \['tram'\]"),
        ("filename,label,fold,airport,bus\nx,airport,0,0.9,0.9\n", "clip x sums to 1.8"),
        ("filename,label,fold,airport,bus\nx,airport,0,nan,1\n", "finite and non-negative; clip x"),
        ("filename,label,fold,airport,bus\nx,airport,0,1.5,-0.5\n", "finite and non-negative"),
        ("filename,label,fold,airport,bus\nx,airport,one,0.5,0.5\n", "not an integer"),
        ("filename,label,fold,airport,bus\nx,airport,0,0.5,0.5\nx,bus,0,0.5,0.5\n", "repeated"),
    ],
)
def test_bad_prediction_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"bad.csv.*{match}"):
        read_predictions(path)


def test_missing_prediction_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"nope.csv: predictions file not found"):
        read_predictions(tmp_path / "nope.csv")
