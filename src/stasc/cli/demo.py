"""``stasc demo``: the main job on the bundled real sample (ESC-10), with nothing to download."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from stasc.cli.options import add_set_argument
from stasc.config import ExperimentConfig, load_experiment, merge, parse_assignments
from stasc.data import ClipTable, cv_folds, fold_indices
from stasc.evaluation.report import format_table
from stasc.evaluation.runs import evaluate_run
from stasc.runs import RunDir
from stasc.sample import PUBLISHED_ESC10, sample_dir, sample_table
from stasc.training.cross_validation import for_dataset, train_fold
from stasc.training.precision import training_precision
from stasc.training.speed import clip_patches, projected_training_seconds

DEMO_FOLD = 1
BUDGET_MINUTES = 10.0
# The demo's time beyond the network's training steps (decoding and features, augmentation, data loading, scoring),
# as a share of those steps. On this project's 2-core machine (2026-12-07) four measured demos took 0.94-1.15 times
# the 3-s probe's projection of their steps (bf16 and float32, AVX-512 and AVX2 only, 128 and 64 bands): the largest.
OVERHEAD = 0.15
# `envsound` with 64 bands instead of 128: half the compute, for machines on which the preset would run over the
# demo's budget: the preset's recipe with 64 bands (benchmarks/accuracy.py "envsound with 64 bands (full band)"). On
# ESC-10's five test folds over seeds 0-2 (2026-12-07, tenth session; both rows committed before they ran):
# FEWER_BANDS_SCORE against the preset's PRESET_SCORE. The demo takes it by this machine's measured speed alone; no
# score chooses it.
FEWER_BANDS = {
    "input": {"features": [{"kind": "logmel", "sample_rate": 44100, "n_fft": 2048, "hop_length": 1024, "n_mels": 64}],
              "patch_size": [64, 128]},
    "model": {"input_size": [64, 128]},
    "augment": {"freq_max_width": 8},
}
FEWER_BANDS_NAME = "envsound with 64 bands"
FEWER_BANDS_SCORE, PRESET_SCORE = "91.8 +- 0.4", "91.3 +- 0.4"  # accuracy (%): mean +- std over seeds


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="train the envsound preset on the bundled real recordings (ESC-10) and score it on an official fold",
        description="Run the main job on the real sample bundled with the package, with nothing to download: the "
        "400 field recordings of ESC-10 (10 classes: dog, rain, sea waves, crying baby, clock tick, sneezing, "
        "helicopter, chainsaw, rooster, crackling fire; CC BY 3.0). Trains the `envsound` preset on official folds "
        f"2–5 (for the preset's fixed 40 epochs; the test fold chooses nothing) and scores official fold {DEMO_FOLD} "
        "once, then prints "
        "that score beside the published results on ESC-10 and writes the report (accuracy, per-class accuracy, "
        "confusion matrix, learning curves). About 5 minutes on 2 CPU cores that compute bfloat16 natively (AMX or "
        "AVX512-BF16), 8.5 in float32 on the same cores (measured 2026-12-07). Before training it measures this "
        "machine's training speed and, where the preset would take longer than --budget-minutes, trains envsound "
        "with 64 bands instead and says so (half the compute: 7.3 minutes on 2 cores with AVX2 only, where the "
        "preset takes 15). All five folds are "
        "`stasc cv --data SAMPLE/labels.csv --preset envsound`. Run it again after an interruption: it resumes. "
        f"Sample: {sample_dir()}.",
        epilog="examples:\n  stasc demo --out stasc-demo\n"
        "  stasc demo --out stasc-demo --set train.max_epochs=5   # a shorter run\n"
        "  stasc demo --out stasc-demo --budget-minutes 0        # the preset, however long it takes here",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=Path("stasc-demo"), help="output folder (default: stasc-demo)")
    parser.add_argument("--fold", type=int, default=DEMO_FOLD, help=f"the official test fold (default: {DEMO_FOLD})")
    parser.add_argument("--budget-minutes", type=float, default=BUDGET_MINUTES,
                        help="before training, measure how fast this machine trains the preset's network; if the run "
                        f"would take longer than this (default {BUDGET_MINUTES:g} minutes), train `envsound` with 64 "
                        f"bands instead (half the compute; on ESC-10's test folds {FEWER_BANDS_SCORE} %% against the "
                        f"preset's {PRESET_SCORE} %%, three seeds) and say so. 0: always the preset")
    add_set_argument(parser, "the envsound preset")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table = sample_table()
    print(f"sample: ESC-10, {len(table)} clips, {len(table.classes)} classes ({', '.join(table.classes)}), "
          f"official folds {', '.join(map(str, sorted(set(table.folds or ()))))}", flush=True)
    run_dir = args.out / "run"
    config, name = demo_recipe(table, parse_assignments(args.overrides), run_dir, fold=args.fold,
                               budget_minutes=args.budget_minutes)
    result = train_fold(config, table, run_dir, fold=args.fold, cache_root=args.out / "cache", resume=True,
                        progress=not args.no_progress)
    summary = evaluate_run(run_dir)
    print(format_table(summary["rows"]))
    print(f"protocol: {summary['protocol']['description']}")
    print(f"\nESC-10, official fold {args.fold}: stasc {name} {100 * (result.test_accuracy or 0):.1f} % — published "
          "(5-fold CV on the same folds):")
    for published, accuracy in PUBLISHED_ESC10.items():
        print(f"  {published:<52} {100 * accuracy:5.1f} %")
    print(f"report: {summary['paths']['report.md']}")
    return 0


def demo_recipe(table: ClipTable, overrides: dict[str, object], run_dir: Path, *, fold: int,
                budget_minutes: float) -> tuple[ExperimentConfig, str]:
    """The recipe the demo trains, and its name: `envsound`, or `envsound` with 64 bands where this machine would
    take longer than ``budget_minutes`` for the preset. A run folder started before keeps the recipe it started
    with, so that the demo resumes it."""
    preset = load_experiment("envsound", overrides)
    fewer = load_experiment("envsound", merge(FEWER_BANDS, overrides)).replaced(
        name="envsound-64-bands", description=f"{FEWER_BANDS_NAME} (chosen by the demo's time budget)")
    run = RunDir(run_dir)
    if run.config.is_file():
        if load_experiment(run.config).settings() == for_dataset(fewer, table).settings():
            print(f"resuming the run in {run_dir}: {FEWER_BANDS_NAME} (chosen by this machine's speed before)")
            return fewer, FEWER_BANDS_NAME
        return preset, "envsound"
    on_gpu = torch.cuda.is_available() and preset.train.accelerator in ("auto", "gpu", "cuda")
    if budget_minutes <= 0 or on_gpu:
        return preset, "envsound"
    train, _ = fold_indices(cv_folds(table, k=None, seed=preset.train.seed).of_clip, fold)  # the folds training uses
    paths = [table.audio_root / table.files[i] for i in train]
    minutes = projected_minutes(preset, paths)
    precision = training_precision(preset.train.replaced(accelerator="cpu"))
    if minutes <= budget_minutes:
        print(f"projected time of the envsound preset on this machine ({precision}): about {minutes:.0f} min, within "
              f"the demo's budget of {budget_minutes:g}", flush=True)
        return preset, "envsound"
    fewer_minutes = projected_minutes(fewer, paths)
    print(f"projected time of the envsound preset on this machine ({precision}): about {minutes:.0f} min, over the "
          f"demo's budget of {budget_minutes:g}; training {FEWER_BANDS_NAME} instead (half the compute; about "
          f"{fewer_minutes:.0f} min; {FEWER_BANDS_SCORE} % on ESC-10's test folds against the preset's "
          f"{PRESET_SCORE} %). "
          "--budget-minutes 0 keeps the preset.", flush=True)
    return fewer, FEWER_BANDS_NAME


def projected_minutes(config: ExperimentConfig, paths: list[Path]) -> float:
    """The demo's projected minutes: the measured training steps and the time around them."""
    return projected_training_seconds(config, clip_patches(config, paths)) * (1 + OVERHEAD) / 60
