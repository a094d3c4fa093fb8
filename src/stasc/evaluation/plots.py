"""PNG plots of a report: confusion matrix, per-class accuracy, accuracy per row, learning curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D

from stasc.atomic import replacing
from stasc.runs import read_history


def _save(fig: Any, path: Path, *, layout: bool = True) -> Path:
    if layout:
        fig.tight_layout()
    try:
        with replacing(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
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


def _none_to_nan(values: list[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def per_class(path: Path, summary: dict[str, Any], title: str) -> Path:
    """Per-class accuracy, mean over folds with the fold std as error bars."""
    classes = summary["classes"]
    means = _none_to_nan([summary["per_class_accuracy"][c]["mean"] for c in classes])
    stds = _none_to_nan([summary["per_class_accuracy"][c]["std"] for c in classes])
    fig, ax = plt.subplots(figsize=(max(6.0, 0.6 * len(classes) + 2), 4.5))
    ax.bar(range(len(classes)), means, yerr=stds, capsize=3, color="tab:blue",
           label=f"mean ± std over {summary['n_folds']} fold(s)")
    for x, mean in enumerate(means):
        if np.isfinite(mean):
            ax.text(x, 0.02, f"{100 * mean:.0f}", ha="center", va="bottom", color="white", fontsize=8)
    overall = summary["accuracy"]["mean"]
    ax.axhline(overall, color="tab:red", linestyle="--", label=f"overall accuracy {100 * overall:.1f} %")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel("clip accuracy")
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(title, loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=8, frameon=False)
    return _save(fig, path)


def accuracy_bars(path: Path, summaries: dict[str, dict[str, Any]], paper: dict[str, float] | None = None, *,
                  what: str = "clip accuracy", rows: str = "model or vote") -> Path:
    """One bar per row (model or vote), mean ± std over folds; the paper's figures as markers.
    ``what`` names the accuracy (the tuning benchmark's is a validation accuracy), ``rows`` the bars."""
    names = list(summaries)
    means = [summaries[n]["accuracy"]["mean"] for n in names]
    stds = [summaries[n]["accuracy"]["std"] for n in names]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 2), 4.5))
    ax.bar(range(len(names)), means, yerr=stds, capsize=3, color="tab:blue", label="stasc (mean ± std over folds)")
    for x, (mean, std) in enumerate(zip(means, stds)):
        ax.text(x, 0.02, f"{100 * mean:.1f}\n± {100 * std:.1f}", ha="center", va="bottom", color="white", fontsize=8)
    if paper:
        xs = [i for i, n in enumerate(names) if n in paper]
        if xs:
            ax.scatter(xs, [paper[names[i]] for i in xs], color="tab:red", marker="D", zorder=3, label="paper")
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_ylim(0, 1)
    ax.set_ylabel(what)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title(f"{what} per {rows}", loc="left")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=8, frameon=False)
    return _save(fig, path)


def validation_against_test(path: Path, runs: dict[str, tuple[float, float, str]]) -> Path:
    """One point per run: its accuracy on the validation parts against the test folds (``(validation, test,
    kind)``), one colour per kind of validation part; above the diagonal, the validation part was easier."""
    fig, ax = plt.subplots(figsize=(5.5, 5.0))
    values = [v for validation, test, _ in runs.values() for v in (validation, test)]
    low, high = min(values) - 0.02, max(values) + 0.02
    ax.plot([low, high], [low, high], color="grey", linewidth=1, label="validation = test")
    for index, kind in enumerate(sorted({kind for *_, kind in runs.values()})):
        points = np.array([(test, validation) for validation, test, k in runs.values() if k == kind])
        ax.scatter(points[:, 0], points[:, 1], color=f"C{index}", label=f"validation part: {kind} ({len(points)} runs)")
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel("test-fold accuracy (the same last models)")
    ax.set_ylabel("validation accuracy")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    ax.set_title("validation parts against test folds, per run", loc="left")
    return _save(fig, path)


_CURVES = (  # metric, axis (0: loss, 1: accuracy), line style
    ("train_loss", 0, "-"), ("val_loss", 0, "--"), ("train_patch_acc", 1, "-"), ("val_acc", 1, "--"),
)


def learning_curves(path: Path, histories: list[Path], title: str) -> Path | None:
    """Loss and accuracy per epoch, one colour per fold (Lightning CSVLogger ``metrics.csv`` files,
    named by the folder above ``logs/``); solid lines train, dashed validation; metrics a file lacks
    are left out. ``None`` (nothing written) when no file has any of them."""
    runs = [(h.parent.parent.name, read_history(h)) for h in histories if h.is_file()]
    runs = [(name, series) for name, series in runs if any(key in series for key, _, _ in _CURVES)]
    if not runs:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for index, (_, series) in enumerate(runs):
        for key, axis, style in _CURVES:
            if key in series:
                epochs, values = zip(*sorted(series[key]))
                axes[axis].plot(epochs, values, style, color=f"C{index % 10}", marker="." if len(epochs) < 3 else None)
    axes[0].set_ylabel("loss")
    axes[1].set_ylabel("accuracy")
    axes[1].set_ylim(0, 1)
    for ax, what in zip(axes, ("loss", "accuracy")):
        ax.set_xlabel("epoch")
        ax.set_title(f"{what} (solid: train, dashed: validation)", fontsize=9)
        ax.grid(alpha=0.3)
    handles = [Line2D([], [], color=f"C{i % 10}", label=name) for i, (name, _) in enumerate(runs)]
    handles += [Line2D([], [], color="black", linestyle="-", label="train (patches)"),
                Line2D([], [], color="black", linestyle="--", label="validation (clips)")]
    fig.legend(handles=handles, loc="center right", fontsize=8, frameon=False)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return _save(fig, path, layout=False)
