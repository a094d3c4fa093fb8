"""Clip-level metrics (SPEC §6): accuracy, macro accuracy (the mean of per-class accuracies, DCASE's
primary metric), per-class accuracy, confusion matrix, log loss; and their mean ± standard
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
    order of ``classes``) and the multi-class log loss over all classes (probabilities clipped at
    1e-15 and renormalised). The prediction is the argmax of the clip probabilities.

    Returns ``{"clips", "accuracy", "macro_accuracy", "log_loss", "per_class_accuracy": {class: float | None},
    "confusion_matrix": list[list[int]], "classes"}``.
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
    return {
        "clips": len(predictions),
        "accuracy": float(accuracy_score(targets, predicted)),
        # scikit-learn's balanced accuracy, from the matrix (it warns on classes only predicted)
        "macro_accuracy": float(np.mean([matrix[i, i] / support[i] for i in range(len(labels)) if support[i]])),
        "log_loss": float(log_loss(targets, clipped, labels=labels)),
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
        "classes": list(predictions.classes),
    }


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
        "per_class_accuracy": {c: _mean_std([f["per_class_accuracy"][c] for f in folds]) for c in classes},
        "pooled": pooled,
        "classes": classes,
    }
