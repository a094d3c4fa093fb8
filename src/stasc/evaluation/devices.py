"""Results by recording device and city (DCASE Task 1 since 2020): accuracy and log loss per device,
per group of devices — real (``a``, ``b``, ``c``: recorded) and simulated (``s1`` … ``s6``: made
from ``a``), seen and unseen in training — and per city, pooled over the folds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import log_loss

from stasc.evaluation.predictions import Predictions, concat

REAL_DEVICES = frozenset({"a", "b", "c"})


def _scores(predictions: Predictions, mask: np.ndarray) -> dict[str, Any]:
    subset = predictions.subset(mask)
    if not len(subset):
        return {"clips": 0, "accuracy": None, "log_loss": None}
    clipped = np.clip(subset.probabilities, 1e-15, 1.0)
    clipped /= clipped.sum(1, keepdims=True)
    hits = subset.probabilities.argmax(1) == subset.targets
    return {"clips": len(subset), "accuracy": float(hits.mean()),
            "log_loss": float(log_loss(subset.targets, clipped, labels=list(range(len(subset.classes)))))}


def breakdown(per_split: Sequence[Predictions], attributes: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """``per_split`` test predictions with each split's ``attributes`` (``{"device": {file: device},
    "city": {file: city}, "training_devices": [...]}``) → ``{"devices", "groups", "cities"}``, or None
    when the test clips come from one device and one city (nothing to break down)."""
    pooled = concat(list(per_split))
    device: dict[str, str] = {}
    city: dict[str, str] = {}
    seen: list[bool] = []
    for predictions, split in zip(per_split, attributes):
        device.update(split.get("device", {}))
        city.update(split.get("city", {}))
        trained = set(split.get("training_devices", []))
        seen += [split.get("device", {}).get(name) in trained for name in predictions.filenames]
    if not device and not city:
        return None
    devices = np.array([device.get(name, "unknown") for name in pooled.filenames])
    cities = np.array([city.get(name, "unknown") for name in pooled.filenames])
    if len(set(devices)) < 2 and len(set(cities)) < 2:
        return None
    real = np.isin(devices, sorted(REAL_DEVICES))
    seen_mask = np.array(seen)
    return {
        "devices": {d: _scores(pooled, devices == d) for d in sorted(set(devices))},
        "groups": {"real (a, b, c)": _scores(pooled, real), "simulated (s1–s6)": _scores(pooled, ~real),
                   "seen in training": _scores(pooled, seen_mask), "unseen in training": _scores(pooled, ~seen_mask)},
        "cities": {c: _scores(pooled, cities == c) for c in sorted(set(cities))},
    }


def markdown(result: dict[str, Any]) -> list[str]:
    """The breakdown as Markdown tables."""
    out = []
    for title, key in (("By device", "devices"), ("By device group", "groups"), ("By city", "cities")):
        rows = result[key]
        if len(rows) < 2:
            continue
        out += ["", f"## {title} (test clips of every split pooled)", "", "| | clips | accuracy (%) | log loss |",
                "|---|---|---|---|"]
        for name, s in rows.items():
            accuracy = "–" if s["accuracy"] is None else f"{100 * s['accuracy']:.1f}"
            loss = "–" if s["log_loss"] is None else f"{s['log_loss']:.3f}"
            out.append(f"| {name} | {s['clips']} | {accuracy} | {loss} |")
    return out
