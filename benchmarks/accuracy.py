"""Accuracy benchmark on real labelled audio, laid out like the paper's Table 2.

    python benchmarks/accuracy.py [--epochs 20] [--k 5] [--out benchmarks/results/accuracy]

Free Spoken Digit Dataset (../shared/data/fsdd: 2,500 recordings, 10 digits, 5 speakers), K folds
grouped by speaker, so every score is on a voice never heard in training. Rows: the paper's
`mfcc`, `mfcc-stap` and `mfcc-stap-mixup` models at a CPU width (the `sample` preset's 8 kHz
features and 1/8-width DCNN, the paper's exact STAP and FC-ReLU head), the same attention model
with a linear head and a LayerNorm on the pooled vector (our variant), the DCASE 2019 baseline CNN
as a preset of ours, and MFCC statistics + logistic regression. All rows share the folds.
Prints the table, writes report.md/report.json/plots and accuracy.json into --out.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from stasc.config import load_experiment
from stasc.data import assign_folds, read_csv
from stasc.evaluation.predictions import Predictions
from stasc.evaluation.report import format_table, write_report
from stasc.evaluation.runs import run_predictions
from stasc.features.cache import FeatureCache
from stasc.training.cross_validation import cross_validate, run_folds

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "labels.csv"
PAPER_HEAD = {"head": "fc_relu", "stap_norm": False}
ROWS = {
    "mfcc": ("sample", {"model": {"pooling": "mean", **PAPER_HEAD}, "mixup": {"enabled": False}}),
    "mfcc-stap": ("sample", {"model": {"pooling": "stap", **PAPER_HEAD}, "mixup": {"enabled": False}}),
    "mfcc-stap-mixup": ("sample", {"model": {"pooling": "stap", **PAPER_HEAD}, "mixup": {"enabled": True}}),
    "mfcc-stap-mixup (linear head + LayerNorm)": (
        "sample", {"model": {"pooling": "stap", "head": "linear", "stap_norm": True}, "mixup": {"enabled": True}}),
    "dcase2019-baseline": ("dcase2019-baseline", {
        "input": {"features": [{"name": "mfcc2048", "kind": "logmel", "sample_rate": 8000, "n_fft": 256,
                                "hop_length": 64, "n_mels": 40}],
                  "patch_width": 64, "patch_shift": 64, "patch_size": [40, 64]},
        "model": {"input_size": [40, 64], "blocks": [
            {"convs": [{"out_channels": 32, "kernel_size": 7}], "pool_kernel": [5, 5], "pool_stride": [5, 5]},
            {"convs": [{"out_channels": 64, "kernel_size": 7}], "pool_kernel": [4, 12], "pool_stride": [4, 12]}]},
        "train": {"batch_size": 32}}),
}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated rows to run")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/accuracy"))
    args = parser.parse_args()
    table = read_csv(FSDD, group_column="speaker")
    cache_root = args.out / "cache"
    rows: dict[str, list[Predictions]] = {}
    seconds: dict[str, float] = {}
    folds = None
    for name in [r for r in args.rows.split(",") if r]:
        preset, changes = ROWS[name]
        overrides = {**changes, "train": {**changes.get("train", {}), "max_epochs": args.epochs,
                                          "patience": args.epochs}}
        config = load_experiment(preset, overrides)
        run = args.out / name.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
        start = time.perf_counter()
        cross_validate(config, table, run, k=args.k, cache_root=cache_root, progress=False)
        seconds[name] = time.perf_counter() - start
        rows[name] = run_predictions(run)
        folds = run_folds(run, table, k=args.k, seed=config.train.seed)
        print(f"{name}: {np.mean([np.mean(np.array(p.predicted) == np.array(p.labels)) for p in rows[name]]):.3f} "
              f"({seconds[name]:.0f} s)", flush=True)
    sample = load_experiment("sample")
    cache = FeatureCache(cache_root, sample.input.features[0])
    if folds is not None and len(cache) == len(table):
        rows["MFCC statistics + logistic regression"] = logistic_regression(table, folds, cache)
    notes = [f"FSDD, {args.k} folds grouped by speaker; {args.epochs} epochs per fold at lr 1e-3, width 1/8, "
             "64 x 64 patches of 8 kHz MFCC (the `sample` preset); seconds per row: "
             + ", ".join(f"{k} {v:.0f}" for k, v in seconds.items())]
    result = write_report(args.out, title="Accuracy on unheard speakers (FSDD)", rows=rows, notes=notes)
    print(format_table(result["rows"]))
    summary = {name: {"mean": r["accuracy"]["mean"], "std": r["accuracy"]["std"],
                      "folds": [f["accuracy"] for f in r["folds"]]} for name, r in result["rows"].items()}
    (args.out / "accuracy.json").write_text(json.dumps({"epochs": args.epochs, "k": args.k, "rows": summary,
                                                        "seconds": seconds}, indent=2))
    print(f"wrote {args.out / 'report.md'}")


if __name__ == "__main__":
    main()
