"""Accuracy benchmark on real labelled audio, laid out like the paper's Table 2.

    python benchmarks/accuracy.py [--epochs 20] [--k 5] [--out benchmarks/results/accuracy]

Free Spoken Digit Dataset (../shared/data/fsdd: 2,500 recordings, 10 digits, 5 speakers), K folds
grouped by speaker, so every score is on a voice never heard in training. Rows: the paper's
`mfcc`, `mfcc-stap` and `mfcc-stap-mixup` models at a CPU size (8 kHz MFCC, 1/8-width DCNN, the
paper's exact STAP and FC-ReLU head), the attention model with a linear head and a LayerNorm on
the pooled vector; stasc's best recipe (the `sample` preset: log-mel, per-clip mean normalisation,
1/4 width, cosine lr) with and without attention pooling and mixup; the DCASE 2019 baseline CNN as
a preset of ours; the paper's majority vote (and a soft vote) of three of those models; MFCC
statistics + logistic regression. All rows share the folds; a rerun resumes finished folds. Both the best validation epoch (the paper's model selection) and the last epoch
are scored.
Prints the table, writes report.md/report.json/plots and accuracy.json into --out.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from stasc.config import load_experiment, merge
from stasc.data import assign_folds, read_csv
from stasc.ensemble import VOTES
from stasc.evaluation.predictions import Predictions, concat
from stasc.evaluation.report import format_table, write_report
from stasc.evaluation.runs import run_predictions
from stasc.features.cache import FeatureCache
from stasc.training.cross_validation import cross_validate, run_folds

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "labels.csv"
# The paper's models at a CPU size: 8 kHz MFCC (64 coefficients) in 64 x 64 patches, a 1/8-width DCNN,
# lr 1e-3 constant, and the paper's exact STAP and FC-ReLU head (pinned, whatever `sample` says now)
PAPER_CPU = {
    "input": {"features": [{"name": "mfcc2048", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 64,
                            "n_mfcc": 64}], "patch_size": [64, 64], "clip_norm": "none"},
    "model": {"input_size": [64, 64], "width_multiplier": 0.125, "head": "fc_relu", "stap_norm": False},
    "train": {"lr_schedule": "constant"},
}


def paper_row(pooling: str, mixup: bool, **model: object) -> tuple[str, dict]:
    return "sample", merge(PAPER_CPU, {"model": {"pooling": pooling, **model}, "mixup": {"enabled": mixup}})


ROWS = {
    "mfcc": paper_row("mean", False),
    "mfcc-stap": paper_row("stap", False),
    "mfcc-stap-mixup": paper_row("stap", True),
    "mfcc-stap-mixup (linear head + LayerNorm)": paper_row("stap", True, head="linear", stap_norm=True),
    # stasc's best: the `sample` preset as shipped (see its YAML), and what attention and mixup add there
    "stasc best (sample preset)": ("sample", {}),
    "stasc best, temporal mean instead of STAP": ("sample", {"model": {"pooling": "mean"}}),
    "stasc best, no mixup": ("sample", {"mixup": {"enabled": False}}),
    "dcase2019-baseline": ("dcase2019-baseline", {
        "input": {"features": [{"name": "mfcc2048", "kind": "logmel", "sample_rate": 8000, "n_fft": 256,
                                "hop_length": 64, "n_mels": 40}],
                  "patch_width": 64, "patch_shift": 64, "patch_size": [40, 64]},
        "model": {"input_size": [40, 64], "blocks": [
            {"convs": [{"out_channels": 32, "kernel_size": 7}], "pool_kernel": [5, 5], "pool_stride": [5, 5]},
            {"convs": [{"out_channels": 64, "kernel_size": 7}], "pool_kernel": [4, 12], "pool_stride": [4, 12]}]},
        "train": {"batch_size": 32}}),
}
# The paper's last step (SPEC §5) on these rows: vote the clip decisions of models that differ in pooling
# and architecture. Only rows that ran in this invocation or an earlier one (resumed) take part.
ENSEMBLE = ("stasc best (sample preset)", "stasc best, temporal mean instead of STAP", "dcase2019-baseline")


def logistic_regression(table, folds: np.ndarray, cache: FeatureCache) -> list[Predictions]:  # type: ignore[no-untyped-def]
    """MFCC mean and standard deviation per coefficient → standardised logistic regression."""
    stats = np.stack([np.concatenate([c.mean(-1).ravel(), c.std(-1).ravel()])
                      for c in (np.asarray(cache.load(name)) for name in table.files)])
    targets = np.asarray(table.targets)
    out = []
    for fold in range(folds.max() + 1):
        train, val = folds != fold, folds == fold
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
        model.fit(stats[train], targets[train])
        probs = model.predict_proba(stats[val])
        index = np.flatnonzero(val)
        out.append(Predictions([table.files[i] for i in index], [table.labels[i] for i in index], folds[index],
                               table.classes, probs))
    return out


def last_epoch_accuracy(run: Path, k: int) -> list[float]:
    """Each fold's validation clip accuracy after its last epoch (no model selection on the held-out fold)."""
    out = []
    for fold in range(k):
        rows = list(csv.DictReader((run / f"fold-{fold}" / "logs" / "metrics.csv").open()))
        # the last epoch that trained (logs of older versions end with a validation of the best checkpoint)
        last = max(int(r["epoch"]) for r in rows if r.get("train_loss"))
        out.append(float([r["val_acc"] for r in rows if r.get("val_acc") and int(r["epoch"]) == last][-1]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--rows", default=";".join(ROWS), help="semicolon-separated rows to run (default: all)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/accuracy"))
    args = parser.parse_args()
    table = read_csv(FSDD, group_column="speaker")
    cache_root = args.out / "cache"
    rows: dict[str, list[Predictions]] = {}
    last: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    folds = None
    for name in [r.strip() for r in args.rows.split(";") if r.strip()]:
        preset, changes = ROWS[name]
        overrides = {**changes, "train": {**changes.get("train", {}), "max_epochs": args.epochs,
                                          "patience": args.epochs}}
        config = load_experiment(preset, overrides)
        run = args.out / "".join(c if c.isalnum() or c in "-_" else "_" for c in name).strip("_")
        start = time.perf_counter()
        cross_validate(config, table, run, k=args.k, cache_root=cache_root, progress=False)
        seconds[name] = time.perf_counter() - start
        rows[name] = run_predictions(run)
        last[name] = last_epoch_accuracy(run, args.k)
        folds = run_folds(run, table, k=args.k, seed=config.train.seed)
        print(f"{name}: {np.mean([np.mean(np.array(p.predicted) == np.array(p.labels)) for p in rows[name]]):.3f} "
              f"({seconds[name]:.0f} s)", flush=True)
    if all(name in rows for name in ENSEMBLE):
        members = [concat(rows[name]) for name in ENSEMBLE]
        for vote_name, vote in VOTES.items():
            rows[f"{vote_name} of {len(ENSEMBLE)}: STAP + temporal mean + DCASE baseline"] = vote(members).by_fold()
    mfcc = load_experiment(*paper_row("mean", False))
    cache = FeatureCache(cache_root, mfcc.input.features[0])
    if folds is not None and len(cache) == len(table):
        rows["MFCC statistics + logistic regression"] = logistic_regression(table, folds, cache)
    notes = [f"FSDD, {args.k} folds grouped by speaker, {args.epochs} epochs per fold. The accuracy columns use "
             "each fold's best validation epoch, chosen on the held-out speaker as the paper's cross-validation "
             "does (optimistic); the last-epoch accuracy, free of that choice: "
             + "; ".join(f"{k} {np.mean(v):.1%} ± {np.std(v):.1%}" for k, v in last.items()),
             "seconds per row (a resumed row counts only what it trained now): "
             + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())]
    result = write_report(args.out, title="Accuracy on unheard speakers (FSDD)", rows=rows, notes=notes)
    print(format_table(result["rows"]))
    print(f"\n{'last epoch (no selection on the held-out fold)':<48} {'mean':>7} {'std':>6}")
    for name, values in last.items():
        print(f"{name:<48} {np.mean(values):>7.1%} {np.std(values):>6.1%}")
    summary = {name: {"mean": r["accuracy"]["mean"], "std": r["accuracy"]["std"],
                      "folds": [f["accuracy"] for f in r["folds"]],
                      **({"last_epoch_mean": float(np.mean(last[name])), "last_epoch_folds": last[name]}
                         if name in last else {})}
               for name, r in result["rows"].items()}
    (args.out / "accuracy.json").write_text(json.dumps({"epochs": args.epochs, "k": args.k, "rows": summary,
                                                        "seconds": seconds}, indent=2))
    print(f"wrote {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
