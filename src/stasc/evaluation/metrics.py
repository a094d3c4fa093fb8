"""Clip-level metrics (SPEC §6, and what DCASE Task 1 reports since 2020): accuracy with its 95 %
confidence interval, macro accuracy (the mean of per-class accuracies, DCASE's primary metric),
per-class accuracy, confusion matrix, the multi-class log loss and the class-wise log loss (the
loss over each class's clips, and their mean: DCASE's ranking metric); and their mean ± standard
deviation over cross-validation folds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, log_loss

from stasc.evaluation.predictions import Predictions, concat


def clip_metrics(predictions: Predictions) -> dict[str, Any]:
    """Accuracy, macro accuracy (the mean of the per-class accuracies of the classes present, which
    reads right on unbalanced sets), per-class accuracy (recall of each class, the paper's Table 3;
    ``None`` for a class without clips), the confusion matrix (counts, rows = true class, columns = predicted, in the
    order of ``classes``), the multi-class log loss over all classes (probabilities clipped at
    1e-15 and renormalised), the class-wise log loss (that loss over the clips of each class; None
    for a class without clips) and its mean over the classes present, and the Wilson score 95 %
    interval of the accuracy. The prediction is the argmax of the clip probabilities.

    Returns ``{"clips", "accuracy", "accuracy_ci95": [low, high], "macro_accuracy", "log_loss",
    "class_wise_log_loss": {class: float | None}, "mean_class_wise_log_loss", "per_class_accuracy":
    {class: float | None}, "confusion_matrix": list[list[int]], "classes"}``.
    """
    if not len(predictions):
        raise ValueError("no clips to evaluate")
    targets = predictions.targets
    predicted = predictions.probabilities.argmax(1)
    labels = list(range(len(predictions.classes)))
    matrix = confusion_matrix(targets, predicted, labels=labels)
    support = matrix.sum(1)
    per_class = {
        name: (float(matrix[i, i] / support[i]) if support[i] else None) for i, name in enumerate(predictions.classes)
    }
    clipped = np.clip(predictions.probabilities, 1e-15, 1.0)
    clipped /= clipped.sum(1, keepdims=True)
    accuracy = float(accuracy_score(targets, predicted))
    class_wise = {name: (float(log_loss(targets[targets == i], clipped[targets == i], labels=labels))
                         if support[i] else None) for i, name in enumerate(predictions.classes)}
    present = [v for v in class_wise.values() if v is not None]
    return {
        "clips": len(predictions),
        "accuracy": accuracy,
        "accuracy_ci95": wilson_interval(int(matrix.trace()), len(predictions)),
        # scikit-learn's balanced accuracy, from the matrix (it warns on classes only predicted)
        "macro_accuracy": float(np.mean([matrix[i, i] / support[i] for i in range(len(labels)) if support[i]])),
        "log_loss": float(log_loss(targets, clipped, labels=labels)),
        "class_wise_log_loss": class_wise,
        "mean_class_wise_log_loss": float(np.mean(present)),
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
        "classes": list(predictions.classes),
    }


def wilson_interval(successes: int, trials: int, z: float = 1.959963984540054) -> list[float]:
    """The Wilson score interval of a proportion (95 % by default): unlike the normal approximation it
    stays inside [0, 1] and means something for 80 clips at 95 % accuracy."""
    if trials == 0:
        return [0.0, 1.0]
    p = successes / trials
    centre = (p + z * z / (2 * trials)) / (1 + z * z / trials)
    half = z * np.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / (1 + z * z / trials)
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def _mean_std(values: Sequence[float | None]) -> dict[str, float | None]:
    # sample standard deviation (ddof=1) over the folds that have a value, 0 for a single one;
    # None (JSON null) when no fold has a value (a class absent from every fold)
    array = np.asarray([v for v in values if v is not None], dtype=np.float64)
    if array.size == 0:
        return {"mean": None, "std": None}
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if array.size > 1 else 0.0}


def cross_validation_summary(per_fold: Sequence[Predictions]) -> dict[str, Any]:
    """Per-fold :func:`clip_metrics`, their mean ± std over folds, and the metrics of all folds pooled.

    The std is the sample standard deviation (``ddof=1``) over folds when there are at least 2
    folds, and 0 for a single split. The per-class accuracy of a fold without clips of that class
    is left out of that class's mean. Returns ``{"folds": [clip_metrics…], "n_folds", "clips",
    "accuracy": {"mean", "std"}, "macro_accuracy": {"mean", "std"}, "log_loss": {"mean", "std"},
    "mean_class_wise_log_loss": {"mean", "std"}, "class_wise_log_loss": {class: {"mean", "std"}},
    "per_class_accuracy": {class:
    {"mean", "std"}}, "pooled": clip_metrics(all clips), "classes"}``.
    """
    if not per_fold:
        raise ValueError("no folds to summarise")
    folds = [clip_metrics(p) for p in per_fold]
    classes = folds[0]["classes"]
    pooled = clip_metrics(concat(list(per_fold)))
    return {
        "folds": folds,
        "n_folds": len(folds),
        "clips": pooled["clips"],
        "accuracy": _mean_std([f["accuracy"] for f in folds]),
        "macro_accuracy": _mean_std([f["macro_accuracy"] for f in folds]),
        "log_loss": _mean_std([f["log_loss"] for f in folds]),
        "mean_class_wise_log_loss": _mean_std([f["mean_class_wise_log_loss"] for f in folds]),
        "class_wise_log_loss": {c: _mean_std([f["class_wise_log_loss"][c] for f in folds]) for c in classes},
        "per_class_accuracy": {c: _mean_std([f["per_class_accuracy"][c] for f in folds]) for c in classes},
        "pooled": pooled,
        "classes": classes,
    }
