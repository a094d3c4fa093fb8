"""How a trained model scores (test-time frequency warps, ``model.test_time_warps``, the weights that combine a
clip's patches, ``model.patch_weights``, and how densely its patches are cut): trained runs' models re-scored with
each set of warps, each weighting and each patch shift.

    python benchmarks/warps.py --data fsdd --runs benchmarks/results/tuning-fsdd --seeds 3 \\
        --rows "warp 0.15, 1/2 width, bf16, 2 members averaged" --warps 1 0.95,1,1.05 0.9,1,1.1 0.85,1,1.15
    python benchmarks/warps.py --data fsdd --runs benchmarks/results/accuracy-fsdd --part test --seeds 3 \\
        --rows "sample preset (stasc)" --warps 1 0.9,1,1.1
    python benchmarks/warps.py --data esc10 --runs benchmarks/results/tuning-esc10-fold --seeds 3 \
        --rows "envsound + ..., 44.1 kHz, 128 bands" --warps 1 --patch-weights equal sound
    python benchmarks/warps.py --data esc10 --runs benchmarks/results/tuning-esc10-fold --seeds 3 \
        --rows "envsound + ..., silent patches dropped" --warps 1 --patch-weights sound --patch-shifts 32 16 8

``--runs`` is the --out folder of ``benchmarks/tuning.py`` (``--part validation``, the default: each split's
validation part, what chooses a preset's warps) or of ``benchmarks/accuracy.py`` (``--part test``: each test fold,
to report a choice already made; never to make it). ``--rows`` names its variants or rows; ``--seeds 3`` takes their
seed-1 and seed-2 rows too. Each split's last checkpoint (the model the presets keep) scores its clips once per warp
set and patch weighting (``--patch-weights``: ``equal``, the mean of a clip's patches; ``sound``, each patch counted by
its share of frames above the dB floor) and patch shift (``--patch-shifts``: a clip's patches start every that many
frames instead of the run's own ``input.patch_shift``; a denser grid hears each moment in more contexts), every row
on the same networks, so the rows differ only in how they score.
Each figure is the accuracy and log loss over all those clips, with the standard deviation over splits and each seed's
accuracy. Prints the table, writes warps.md, warps.json and warps.png into --out.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch

from accuracy import seeds_of, slug
from members import scores, split_inputs
from stasc.atomic import replacing
from stasc.evaluation.plots import accuracy_bars
from stasc.models.probabilities import class_probabilities
from stasc.runs import RunDir
from stasc.training.data import clip_probabilities
from tuning import table_of


def warp_set(text: str) -> tuple[float, ...]:
    """``"0.9,1,1.1"`` → ``(0.9, 1.0, 1.1)``."""
    try:
        factors = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated warp factors, e.g. 0.9,1,1.1") from None
    if not all(0.5 <= f <= 2.0 for f in factors):
        raise argparse.ArgumentTypeError(f"{text!r}: every warp factor must lie in [0.5, 2]")
    return factors


def frames(text: str) -> int:
    """A patch shift: a positive whole number of frames."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a patch shift is a positive whole number of frames")
    return int(text)


def label(warps: tuple[float, ...], weights: str = "equal", shift: int | None = None) -> str:
    """A row's name: its warps, its patch weights where they are not the equal mean, its patch shift where it is
    not the run's own."""
    named = "none (1)" if warps == (1.0,) else ", ".join(f"{f:g}" for f in warps)
    named = named if weights == "equal" else f"{named}; patches weighted by {weights}"
    return named if shift is None else f"{named}; patches every {shift} frames"


Scoring = tuple[tuple[float, ...], str, int | None]  # (test-time warps, patch weights, patch shift; None: the run's)


@torch.inference_mode()
def score_run(run: RunDir, table, cache: Path, part: str,  # type: ignore[no-untyped-def]
              scorings: list[Scoring]) -> dict[Scoring, list[tuple[np.ndarray, np.ndarray]]]:
    """Per (warps, patch weights, patch shift): each split's per-clip (correct, log loss), splits in one order."""
    out: dict[Scoring, list[tuple[np.ndarray, np.ndarray]]] = {s: [] for s in scorings}
    for shift in dict.fromkeys(s for _, _, s in scorings):
        for split in split_inputs(run, table, cache, part=part, patch_shift=shift):
            for warps in dict.fromkeys(w for w, _, s in scorings if s == shift):
                probs = torch.cat([class_probabilities(split.model, chunk, warps)
                                   for chunk in split.patches.split(256)])
                for weights in (m for w, m, s in scorings if w == warps and s == shift):
                    clips = clip_probabilities(probs, split.clips, len(split.files), split.weights(weights)).numpy()
                    out[(warps, weights, shift)].append(scores(clips, split.targets))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("esc10", "fsdd"), default="fsdd")
    parser.add_argument("--runs", type=Path, required=True, help="the --out folder of tuning.py or accuracy.py")
    parser.add_argument("--rows", nargs="+", required=True, help="its variants (tuning) or rows (accuracy) to score")
    parser.add_argument("--part", choices=("validation", "test"), default="validation",
                        help="validation parts (to choose) or test folds (to report a choice made before)")
    parser.add_argument("--warps", nargs="+", type=warp_set, default=[(1.0,), (0.9, 1.0, 1.1)],
                        help="warp sets, each comma-separated factors (default: 1 0.9,1,1.1)")
    parser.add_argument("--patch-weights", nargs="+", choices=("equal", "sound"), default=["equal"],
                        help="how a clip's patches combine: equal (the mean; the default), sound (by each patch's "
                             "share of frames above the dB floor); each with every warp set")
    parser.add_argument("--patch-shifts", nargs="+", type=frames, default=[None], metavar="FRAMES",
                        help="cut each clip's patches every FRAMES frames, each with every warp set and weighting "
                             "(default: the run's own input.patch_shift)")
    parser.add_argument("--seeds", type=int, choices=(1, 3), default=1, help="3: each row's seed-1 and seed-2 rows too")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path(f"benchmarks/results/warps-{args.data}-{args.part}")
    out.mkdir(parents=True, exist_ok=True)
    table, _ = table_of(args.data)
    scorings = [(w, m, s) for s in args.patch_shifts for w in args.warps for m in args.patch_weights]
    per_set: dict[Scoring, list[tuple[np.ndarray, np.ndarray]]] = {s: [] for s in scorings}
    per_seed: dict[Scoring, list[float]] = {s: [] for s in scorings}
    per_fold: dict[Scoring, list[list[float]]] = {s: [] for s in scorings}  # per seed: each split's accuracy
    for name in args.rows:
        for seeded in seeds_of(name)[: args.seeds]:
            folder = args.runs / slug(seeded)
            if not RunDir.is_run(folder):
                parser.error(f"{folder}: not a run of {args.runs} (row {seeded!r})")
            for scoring, splits in score_run(RunDir(folder), table, args.runs / "cache", args.part, scorings).items():
                per_set[scoring].extend(splits)
                per_seed[scoring].append(float(np.concatenate([c for c, _ in splits]).mean()))
                per_fold[scoring].append([float(c.mean()) for c, _ in splits])
    results = {label(*s): {"warps": list(s[0]), "patch_weights": s[1], "patch_shift": s[2],
                           "accuracy": float(np.concatenate([c for c, _ in v]).mean()),
                          "std_over_splits": float(np.std([c.mean() for c, _ in v])),
                          "log_loss": float(np.concatenate([ll for _, ll in v]).mean()),
                           "per_seed": per_seed[s], "per_split": per_fold[s],
                           # each seed's spread over its splits, the sample std (as the accuracy tables' ± over folds)
                           "split_std_per_seed": [float(np.std(f, ddof=1)) if len(f) > 1 else 0.0
                                                  for f in per_fold[s]],
                           "clip_predictions": int(sum(len(c) for c, _ in v))}
               for s, v in per_set.items()}
    where = "validation parts (no test fold was read)" if args.part == "validation" else \
        "test folds (to report a choice made on validation parts, never to make one)"
    lines = [f"# Test-time scoring (warps, patch weights) on {args.data}'s {where}", "",
             f"Runs: {', '.join(args.rows)} (seeds 0–{args.seeds - 1}), each split's last checkpoint; accuracy and "
             "log loss over every clip of every split and seed, std over splits.", "",
             "| warps; patch weights; patch shift | accuracy (%) | std over splits | log loss | per seed (%) | "
             "std over each seed's splits (sample) | clip predictions |",
             "|---|---|---|---|---|---|---|"]
    lines += [f"| {row} | {100 * r['accuracy']:.2f} | {100 * r['std_over_splits']:.1f} | {r['log_loss']:.3f} | "
              f"{', '.join(f'{100 * a:.2f}' for a in r['per_seed'])} | "
              f"{', '.join(f'{100 * s:.1f}' for s in r['split_std_per_seed'])} | {r['clip_predictions']} |"
              for row, r in results.items()]
    lines += ["", f"machine: {platform.platform()}, torch {torch.__version__}", "", "![warps.png](warps.png)"]
    text = "\n".join(lines) + "\n"
    print(text)
    with replacing(out / "warps.md") as tmp:
        tmp.write_text(text)
    with replacing(out / "warps.json") as tmp:
        tmp.write_text(json.dumps({"data": args.data, "part": args.part, "rows": args.rows, "seeds": args.seeds,
                                   "scorings": results, "machine": platform.platform()}, indent=2))
    accuracy_bars(out / "warps.png", {row: {"accuracy": {"mean": r["accuracy"], "std": r["std_over_splits"]}}
                                      for row, r in results.items()},
                  what=f"{args.part} accuracy", rows="test-time warps; patch weights; patch shift")
    print(f"wrote {out / 'warps.md'}")


if __name__ == "__main__":
    main()
