"""How far a validation part sits from the test folds: each tuning run's last model scored on both.

    python benchmarks/validation_gap.py --data esc10 \\
        --runs benchmarks/results/tuning-esc10 benchmarks/results/tuning-esc10-fold
    python benchmarks/validation_gap.py --data esc10 --runs benchmarks/results/tuning-esc10-fold \\
        --rows "envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3"

A tuning run (``benchmarks/tuning.py``) ranks recipes on its validation parts. Those parts are a fair instrument
only if a model scores on them about what it scores on a test fold: each split's last checkpoint (the model the
presets keep) is scored here on its validation part and on its test fold, and the gap is validation minus test
accuracy over every clip of the run's splits. The runs are grouped by their ``train.validation_part``: ``groups``
(a random 1/8 of the training side's source recordings or speakers) or ``fold`` (the whole fold after the test
fold). Reading the test folds here chooses nothing: it measures the instrument after the choices it made, as the
README's "Tuning `envsound`" reports (on ESC-10: 2.2 points over 18 runs for ``groups``, 0.6 over 7 for ``fold``).

``--runs`` are ``tuning.py --out`` folders; ``--rows`` names their variants (default: every variant of
``tuning.py`` with a finished split in them, each seed its own run). Prints the table, writes validation_gap.md,
validation_gap.json and validation_gap.png (validation against test accuracy per run) into --out. A run that cannot
be scored (a damaged checkpoint) is named on stderr and in the outputs, the rest are scored, and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from accuracy import slug
from stasc.atomic import replacing
from stasc.config import load_experiment
from stasc.evaluation.plots import validation_against_test
from stasc.runs import RunDir
from tuning import VARIANTS, table_of
from warps import score_run


def run_gap(run: RunDir, table, cache: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The run's last models on its validation parts and on its test folds: accuracy over all their clips."""
    config = load_experiment(run.config)
    # scored as the run's model scores: its own test-time warps and patch weights
    scoring = (tuple(config.model.test_time_warps), config.model.patch_weights, None)
    scored = {part: score_run(run, table, cache, part, [scoring])[scoring] for part in ("validation", "test")}
    correct = {part: np.concatenate([c for c, _ in splits]) for part, splits in scored.items()}
    accuracy = {part: float(c.mean()) for part, c in correct.items()}
    return {"validation_part": config.train.validation_part, "splits": len(run.finished_splits()),
            "clips": {part: len(c) for part, c in correct.items()}, **accuracy,
            "gap": accuracy["validation"] - accuracy["test"],
            "log_loss": {part: float(np.concatenate([ll for _, ll in splits]).mean())
                         for part, splits in scored.items()}}


def summarise(runs: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per validation part: how many runs, how many score higher on it than on the test folds, and the gap."""
    out = {}
    for part in sorted({r["validation_part"] for r in runs.values()}):
        gaps = np.array([r["gap"] for r in runs.values() if r["validation_part"] == part])
        out[part] = {"runs": len(gaps), "higher_on_validation": int((gaps > 0).sum()), "mean_gap": float(gaps.mean()),
                     "min_gap": float(gaps.min()), "max_gap": float(gaps.max())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("esc10", "fsdd"), default="esc10")
    parser.add_argument("--runs", type=Path, nargs="+", required=True, help="tuning.py --out folders")
    parser.add_argument("--rows", nargs="+", help="their variants to score (default: every one they hold)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path(f"benchmarks/results/validation-gap-{args.data}")
    out.mkdir(parents=True, exist_ok=True)
    table, _ = table_of(args.data)
    for name in args.rows or ():
        if name not in VARIANTS[args.data]:
            parser.error(f"{name!r} is not a {args.data} variant of benchmarks/tuning.py")
    found = [(folder, name, RunDir(folder / slug(name))) for folder in args.runs
             for name in args.rows or VARIANTS[args.data]]
    found = [(folder, name, run) for folder, name, run in found if RunDir.is_run(run.root) and run.finished_splits()]
    if not found:
        parser.error(f"no finished run of {'those variants' if args.rows else 'any variant'} in "
                     f"{', '.join(map(str, args.runs))}")
    runs: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}  # a run that cannot be scored (a damaged checkpoint, say) is reported, not fatal
    for index, (folder, name, run) in enumerate(found, 1):
        print(f"[{index}/{len(found)}] {folder.name}: {name}", flush=True)
        try:
            runs[f"{folder.name}: {name}"] = run_gap(run, table, folder / "cache")
        except (ValueError, OSError, RuntimeError) as err:
            failed[f"{folder.name}: {name}"] = f"{run.root}: {err}"
            print(f"  not scored: {run.root}: {err}", file=sys.stderr, flush=True)
    if not runs:
        sys.exit(f"no run could be scored ({len(failed)} failed, listed above)")
    summary = summarise(runs)
    lines = [f"# Validation parts against test folds on {args.data}: the same last models scored on both", "",
             "Each run's last checkpoint of every split (the model the presets keep), scored on its validation part "
             "and on its test fold; accuracy over all clips of the run's splits; gap = validation − test, in "
             "points. Read after the choices the runs made; it chooses nothing.", "",
             "| validation part | runs | higher on validation | mean gap | min | max |", "|---|---|---|---|---|---|"]
    lines += [f"| {part} | {s['runs']} | {s['higher_on_validation']} | {100 * s['mean_gap']:+.1f} | "
              f"{100 * s['min_gap']:+.1f} | {100 * s['max_gap']:+.1f} |" for part, s in summary.items()]
    lines += ["", "| run | validation part | validation (%) | test (%) | gap | log loss, validation / test |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {r['validation_part']} | {100 * r['validation']:.1f} | {100 * r['test']:.1f} | "
              f"{100 * r['gap']:+.1f} | {r['log_loss']['validation']:.3f} / {r['log_loss']['test']:.3f} |"
              for name, r in runs.items()]
    if failed:
        lines += ["", f"Not scored ({len(failed)}):", *(f"- {name}: {why}" for name, why in failed.items())]
    lines += ["", f"machine: {platform.platform()}, torch {torch.__version__}", "",
              "![validation_gap.png](validation_gap.png)"]
    text = "\n".join(lines) + "\n"
    print(text)
    with replacing(out / "validation_gap.md") as tmp:
        tmp.write_text(text)
    with replacing(out / "validation_gap.json") as tmp:
        tmp.write_text(json.dumps({"data": args.data, "runs": runs, "summary": summary, "not_scored": failed,
                                   "machine": platform.platform()}, indent=2))
    validation_against_test(out / "validation_gap.png", {name: (r["validation"], r["test"], r["validation_part"])
                                                         for name, r in runs.items()})
    print(f"wrote {out / 'validation_gap.md'}")
    if failed:
        sys.exit(1)  # the work finished, but some runs could not be scored (the project's exit status 1)


if __name__ == "__main__":
    main()
