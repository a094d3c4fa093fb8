"""PNG plots of a report: confusion matrix, per-class accuracy, accuracy per row, learning curves."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path


def confusion(path: Path, matrix: list[list[int]], classes: list[str], title: str) -> Path:
    """Confusion matrix normalised per true class, with the share in each cell."""
    counts = np.asarray(matrix, dtype=np.float64)
    shares = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    size = max(5.0, 0.55 * len(classes) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if counts[i, j]:
                ax.text(j, i, f"{shares[i, j]:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if shares[i, j] > 0.5 else "black")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    return _save(fig, path)


def per_class(path: Path, summary: dict[str, Any], title: str) -> Path:
    """Per-class accuracy, mean over folds with the fold std as error bars."""
    classes = summary["classes"]
    means = [summary["per_class_accuracy"][c]["mean"] for c in classes]
    stds = [summary["per_class_accuracy"][c]["std"] for c in classes]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(classes) + 2), 4))
    ax.bar(range(len(classes)), means, yerr=stds, capsize=3, color="tab:blue")
    ax.axhline(summary["accuracy"]["mean"], color="tab:red", linestyle="--", label="overall accuracy")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("clip accuracy")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)


def accuracy_bars(path: Path, summaries: dict[str, dict[str, Any]], paper: dict[str, float] | None = None) -> Path:
    """One bar per row (model or vote), mean ± std over folds; the paper's figures as markers."""
    names = list(summaries)
    means = [summaries[n]["accuracy"]["mean"] for n in names]
    stds = [summaries[n]["accuracy"]["std"] for n in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 2), 4))
    ax.bar(range(len(names)), means, yerr=stds, capsize=3, color="tab:blue", label="stasc")
    if paper:
        xs = [i for i, n in enumerate(names) if n in paper]
        ax.scatter(xs, [paper[names[i]] for i in xs], color="tab:red", marker="D", zorder=3, label="paper")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("clip accuracy")
    ax.legend(loc="lower right")
    return _save(fig, path)


def _read_history(path: Path) -> dict[str, list[tuple[int, float]]]:
    series: dict[str, list[tuple[int, float]]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            epoch = row.get("epoch")
            if not epoch:
                continue
            for key, value in row.items():
                if key in ("epoch", "step") or not value:
                    continue
                series.setdefault(key, []).append((int(float(epoch)), float(value)))
    return series


def learning_curves(path: Path, histories: list[Path], title: str) -> Path | None:
    """Loss and accuracy per epoch, one line per fold (Lightning CSVLogger metrics.csv files)."""
    runs = [(h.parent.parent.name, _read_history(h)) for h in histories if h.is_file()]
    runs = [(name, series) for name, series in runs if series]
    if not runs:
        return None
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for index, (name, series) in enumerate(runs):
        color = f"C{index % 10}"
        for key, ax, style in (("train_loss", ax_loss, "-"), ("val_loss", ax_loss, "--"),
                               ("train_patch_acc", ax_acc, "-"), ("val_acc", ax_acc, "--")):
            if key in series:
                epochs, values = zip(*series[key])
                ax.plot(epochs, values, style, color=color, label=f"{name} {key}")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss (solid: train, dashed: validation)")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy (solid: train patches, dashed: validation clips)")
    ax_acc.set_ylim(0, 1)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=7, loc="lower right", ncol=2)
    fig.suptitle(title)
    return _save(fig, path)
