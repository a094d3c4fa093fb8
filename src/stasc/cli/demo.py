"""``stasc demo``: the main job on the bundled real sample, with nothing to download."""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import numpy as np

from stasc.data.folds import assign_folds
from stasc.features.cache import FeatureCache
from stasc.features.extract import extract, summarize
from stasc.sample import SAMPLE_FEATURE, sample_dir, sample_table


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the pipeline on the bundled real sample (1,000 spoken-digit clips)",
        description="Run the main job on the real sample bundled with the package: read it, fold it by "
        f"speaker, extract MFCC features into a cache and summarise. Sample: {sample_dir()}",
        epilog="example: stasc demo --out stasc-demo",
    )
    parser.add_argument("--out", type=Path, default=Path("stasc-demo"), help="output folder (default: stasc-demo)")
    parser.add_argument("--workers", type=int, default=0, help="decoding worker processes (default: 0)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table = sample_table()
    speakers = sorted(set(table.groups))
    print(f"sample: {len(table)} clips, {len(table.classes)} classes, {len(speakers)} speakers ({', '.join(speakers)})")
    folds = assign_folds(table, k=len(speakers), seed=0)
    for fold in range(len(speakers)):
        held_out = sorted({table.groups[i] for i in np.flatnonzero(folds == fold)})
        print(f"  fold {fold}: {int((folds == fold).sum())} clips, held-out speaker(s) {', '.join(held_out)}")
    report = extract(table, SAMPLE_FEATURE, args.out / "cache", workers=args.workers, progress=not args.no_progress)
    print(summarize(report))
    cache = FeatureCache(args.out / "cache", SAMPLE_FEATURE)
    frames = np.array([cache.entries()[name].shape[-1] for name in table.files if name in cache])
    if frames.size:
        print(
            f"features: {SAMPLE_FEATURE.n_rows} MFCC x frames per clip; frames min {frames.min()}, "
            f"median {int(np.median(frames))}, max {frames.max()}"
        )
    per_class = Counter(table.labels)
    print("clips per class: " + ", ".join(f"{c}={per_class[c]}" for c in table.classes))
    return 0 if report.ok else 1
