"""Reports people read and machines parse: ``report.json``, ``report.md`` and PNG plots."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from stasc.atomic import write_text
from stasc.evaluation import devices, plots
from stasc.evaluation.metrics import cross_validation_summary
from stasc.evaluation.predictions import Predictions

# The paper's Table 2 (5-fold development accuracy per model, keyed by the preset names of SPEC §5;
# the DCASE 2019 baseline is its fold-1 figure, under both names) and Table 3 (per scene).
PAPER_TABLE2 = {
    "baseline": 0.625, "dcase2019-baseline": 0.625, "mfcc": 0.632, "mfcc-stap": 0.696, "mfcc-stap-mixup": 0.711,
    "cqt-mfcc": 0.688, "cqt-mfcc-stap": 0.681, "hpss-mfcc-stap-mixup": 0.655, "majority vote": 0.7386,
}
PAPER_TABLE3 = {  # scene: (DCASE 2019 baseline, the paper's ensemble)
    "airport": (0.484, 0.783), "bus": (0.623, 0.910), "metro": (0.651, 0.671), "metro_station": (0.545, 0.671),
    "park": (0.831, 0.907), "public_square": (0.407, 0.542), "shopping_mall": (0.594, 0.692),
    "street_pedestrian": (0.609, 0.610), "street_traffic": (0.867, 0.911), "tram": (0.640, 0.679),
}


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "row"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def format_table(rows: dict[str, dict[str, Any]], paper: dict[str, float] | None = None) -> str:
    """The paper's Table 2 layout for a terminal: accuracy and macro accuracy mean ± std, the pooled
    accuracy's 95 % interval, log loss and class-wise log loss, per-fold accuracy.

    ``rows`` maps a row name to its :func:`cross_validation_summary` (``write_report(...)["rows"]``);
    ``paper`` adds a column of reference accuracies."""
    width = max([24, *(len(name) for name in rows)])
    lines = [f"{'model':<{width}} {'accuracy (%)':>14} {'95 % CI':>11} {'macro acc. (%)':>15} {'log loss':>9} "
             f"{'CW loss':>8} {'folds':>5}  per-fold accuracy (%)" + ("  paper (%)" if paper else "")]
    lines.append("-" * len(lines[0]))
    for name, summary in rows.items():
        acc, macro = summary["accuracy"], summary["macro_accuracy"]
        low, high = summary["pooled"]["accuracy_ci95"]
        per_fold = " ".join(_pct(f["accuracy"]) for f in summary["folds"])
        line = (f"{name:<{width}} {_pct(acc['mean']):>7} ± {_pct(acc['std']):<4} {_pct(low):>5}–{_pct(high):<5} "
                f"{_pct(macro['mean']):>8} ± {_pct(macro['std']):<4} {summary['log_loss']['mean']:>9.3f} "
                f"{summary['mean_class_wise_log_loss']['mean']:>8.3f} {summary['n_folds']:>5}  {per_fold}")
        if paper:
            line += f"  {_pct(paper[name]) if name in paper else '-':>9}"
        lines.append(line)
    return "\n".join(lines)


def _markdown(title: str, rows: dict[str, dict[str, Any]], images: dict[str, list[str]], notes: list[str],
              paper: dict[str, float] | None, protocol: str | None) -> str:
    out = [f"# {title}", ""]
    if protocol:
        out += [f"**Protocol:** {protocol}.", ""]
    out += ["## Accuracy (clip level, mean ± std over folds)", ""]
    header = ("| model | accuracy (%) | 95 % CI (pooled) | macro accuracy (%) | log loss | class-wise log loss | "
              "folds | per-fold accuracy (%) |" + (" paper (%) |" if paper else ""))
    out += [header, "|" + "---|" * (header.count("|") - 1)]
    for name, s in rows.items():
        per_fold = ", ".join(_pct(f["accuracy"]) for f in s["folds"])
        low, high = s["pooled"]["accuracy_ci95"]
        line = (f"| {name} | {_pct(s['accuracy']['mean'])} ± {_pct(s['accuracy']['std'])} | {_pct(low)}–{_pct(high)} | "
                f"{_pct(s['macro_accuracy']['mean'])} ± {_pct(s['macro_accuracy']['std'])} | "
                f"{s['log_loss']['mean']:.3f} ± {s['log_loss']['std']:.3f} | "
                f"{s['mean_class_wise_log_loss']['mean']:.3f} ± {s['mean_class_wise_log_loss']['std']:.3f} | "
                f"{s['n_folds']} | {per_fold} |")
        if paper:
            line += f" {_pct(paper[name]) if name in paper else '–'} |"
        out.append(line)
    classes = next(iter(rows.values()))["classes"]
    with_paper = paper is not None and all(c in PAPER_TABLE3 for c in classes)
    out += ["", "## Per-class accuracy (%, mean ± std over folds)", ""]
    names = list(rows)
    header = "| class | " + " | ".join(names) + " |" + (" paper baseline | paper ensemble |" if with_paper else "")
    out += [header, "|" + "---|" * (header.count("|") - 1)]
    for c in classes:
        cells = [f"{_pct(rows[n]['per_class_accuracy'][c]['mean'])} ± {_pct(rows[n]['per_class_accuracy'][c]['std'])}"
                 for n in names]
        line = f"| {c} | " + " | ".join(cells) + " |"
        if with_paper:
            line += f" {_pct(PAPER_TABLE3[c][0])} | {_pct(PAPER_TABLE3[c][1])} |"
        out.append(line)
    out += ["", "## Class-wise log loss (mean ± std over folds; DCASE's ranking metric is their mean)", ""]
    header = "| class | " + " | ".join(names) + " |"
    out += [header, "|" + "---|" * (header.count("|") - 1)]
    for c in classes:
        cells = []
        for n in names:
            value = rows[n]["class_wise_log_loss"][c]
            cells.append("–" if value["mean"] is None else f"{value['mean']:.3f} ± {value['std']:.3f}")
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    for name, s in rows.items():
        matrix = s["pooled"]["confusion_matrix"]
        out += ["", f"## Confusion matrix: {name} (all folds pooled; rows = true, columns = predicted)", "",
                "| true \\ predicted | " + " | ".join(classes) + " |", "|" + "---|" * (len(classes) + 1)]
        out += [f"| {c} | " + " | ".join(str(v) for v in row) + " |" for c, row in zip(classes, matrix)]
        out += [""] + [f"![{image}]({image})" for image in images.get(name, [])]
    if images.get("*"):
        out += ["", "## Plots", ""] + [f"![{image}]({image})" for image in images["*"]]
    if notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(out) + "\n"


def write_report(
    out_dir: str | Path, *, title: str, rows: dict[str, list[Predictions]],
    histories: dict[str, list[Path]] | None = None, notes: list[str] | None = None,
    paper: dict[str, float] | None = None, protocol: dict[str, Any] | None = None,
    complexity: dict[str, list[str]] | None = None, breakdown: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Summaries of every row (a model or a vote: its per-fold predictions), written into ``out_dir``.

    Writes ``report.json`` (``{"title", "protocol", "rows": {row: cross_validation_summary}, "notes",
    "paper"}``; ``protocol`` as :class:`stasc.training.fit.Protocol` gives it, with ``description``),
    ``report.md`` (Table 2 layout, per-class table like Table 3 with the paper's figures when the
    classes are the TAU ones and ``paper`` is given, confusion matrices, plots, notes) and PNGs:
    ``confusion_<row>.png``, ``per_class_<row>.png``, ``learning_curves_<row>.png`` (from
    ``histories[row]``, Lightning ``metrics.csv`` files, one per fold) and ``accuracy.png`` (more
    than one row). ``<row>`` is the row name with characters other than ``A-Za-z0-9_.-`` made ``-``.
    ``paper`` maps row names to reference accuracies (e.g. :data:`PAPER_TABLE2`); ``complexity`` maps a
    row to the lines of its model's complexity (:meth:`stasc.complexity.Complexity.lines`);
    ``breakdown`` the results by device and city (:func:`stasc.evaluation.devices.breakdown`).
    Returns ``{"rows": {row: summary}, "paths": {file name: path}}``.
    """
    if not rows:
        raise ValueError("a report needs at least one row")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summaries = {name: cross_validation_summary(folds) for name, folds in rows.items()}
    images: dict[str, list[str]] = {}
    paths: dict[str, Path] = {}
    for name, summary in summaries.items():
        slug = _slug(name)
        made = [
            plots.confusion(out / f"confusion_{slug}.png", summary["pooled"]["confusion_matrix"], summary["classes"],
                            f"{name}: confusion (all folds)"),
            plots.per_class(out / f"per_class_{slug}.png", summary, f"{name}: per-class accuracy"),
        ]
        curve = plots.learning_curves(out / f"learning_curves_{slug}.png", (histories or {}).get(name, []),
                                      f"{name}: learning curves")
        if curve is not None:
            made.append(curve)
        images[name] = [p.name for p in made]
        paths.update({p.name: p for p in made})
    if len(summaries) > 1:
        bars = plots.accuracy_bars(out / "accuracy.png", summaries, paper)
        images["*"] = [bars.name]
        paths[bars.name] = bars
    paths["report.json"] = write_text(out / "report.json", json.dumps(
        {"title": title, "protocol": protocol or {}, "rows": summaries, "notes": notes or [], "paper": paper or {},
         "complexity": complexity or {}, "breakdown": breakdown or {}}, indent=2))
    described = (protocol or {}).get("description")
    text = _markdown(title, summaries, images, notes or [], paper, described)
    if breakdown:
        text += "\n".join(devices.markdown(breakdown)) + "\n"
    if complexity:
        text += "\n## Model complexity (torchinfo, as DCASE counts it)\n\n" + "".join(
            f"- {name}: " + "; ".join(lines) + "\n" for name, lines in complexity.items())
    paths["report.md"] = write_text(out / "report.md", text)
    return {"rows": summaries, "paths": paths}
