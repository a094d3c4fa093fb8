"""Does averaging more networks still help? Each member of tuning runs' models, alone and combined, on the validation
parts those runs were tuned on (never a test fold).

    python benchmarks/members.py --data esc10 --tuning benchmarks/results/tuning-esc10 \\
        --runs "envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged" \\
               "envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, 44.1 kHz (64 bands to 22 kHz)" \\
        [--seeds 3] [--out benchmarks/results/members-esc10]

``--runs`` names variants of ``benchmarks/tuning.py`` (with ``model.members`` ≥ 1) that it has run into ``--tuning``;
``--seeds 3`` takes each with its seed-1 and seed-2 rows too. Runs of one seed share their validation parts (the
training seed draws them), so their members can be combined clip by clip: every member alone, each run's own
average, every pair of members from two different runs, and all members of a seed together. Each figure is the
accuracy and log loss over all validation clips of all splits and seeds, from each split's last checkpoint (the
model the presets keep). Because the members are the same trained networks in every row, the rows differ only in
how they are combined: a far smaller difference shows here than between two training runs. Prints the table,
writes members.md, members.json and members.png (accuracy per row, std over splits) into --out.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from accuracy import seeds_of, slug
from stasc import checkpoint
from stasc.atomic import replacing
from stasc.config import ExperimentConfig
from stasc.data import ClipTable, read_folds
from stasc.data.folds import fold_indices
from stasc.data.layouts.csv import read_rows
from stasc.evaluation.plots import accuracy_bars
from stasc.extraction import ensure_features
from stasc.features.frontend import FrontEnd
from stasc.models import build_model
from stasc.models.members import Network
from stasc.runs import RunDir
from stasc.training.data import PatchDataset, clip_probabilities
from stasc.training.fit import plan_split
from tuning import table_of


@dataclass
class SplitInputs:
    """One finished split of a run: its last model (the one the presets keep) and every patch of one part's clips."""

    name: str
    config: ExperimentConfig
    model: Network
    files: list[str]
    targets: np.ndarray  # (clips,)
    patches: Tensor  # (P, C, H, W)
    clips: Tensor  # (P,): each patch's clip
    sound: Tensor | None  # (P,): each patch's share of sounding frames (None: the first feature has no dB rows)

    def weights(self, mode: str | None = None) -> Tensor | None:
        """The patch weights of ``model.patch_weights`` ``mode`` (default: the run's own): None for an equal mean."""
        mode = mode or self.config.model.patch_weights
        if mode == "equal":
            return None
        if self.sound is None:
            raise ValueError(f"{self.name}: patch weights {mode!r} need a first feature with frequency rows in dB")
        return self.sound


@torch.inference_mode()
def split_inputs(run: RunDir, table: ClipTable, cache: Path, *, part: str = "validation",
                 patch_shift: int | None = None) -> Iterator[SplitInputs]:
    """Every finished split of ``run`` with the patches of its validation part (the clips tuning chose on), or,
    with ``part="test"``, of its test fold; cut every ``patch_shift`` frames (default: the run's own
    ``input.patch_shift``), a denser or sparser grid of the same clips for the same trained model."""
    _, rows = read_rows(run.folds)  # the clips the run had (all of them, or a smoke run's first few)
    used = {row["filename"] for row in rows}
    table = table.subset([i for i, name in enumerate(table.files) if name in used])
    folds = read_folds(run.folds, table)
    for split in run.finished_splits():
        saved = checkpoint.read(split.last)
        config = saved.config
        model = build_model(config.model)
        model.load_state_dict(saved.weights)
        model.eval()
        train, test = fold_indices(folds, int(split.name.split("-")[1]))
        chosen = test if part == "test" else plan_split(config, table, train, test, name=split.name,
                                                        folds="dataset", fold_of_clip=folds).selection
        files, targets = [table.files[i] for i in chosen], [table.targets[i] for i in chosen]
        cut = config.input if patch_shift is None else config.input.model_copy(update={"patch_shift": patch_shift})
        front_end = FrontEnd(cut, list(saved.normalizers))
        # re-extracts a clip whose cached features came from another file of the same name (another copy of the
        # data sharing the cache, e.g. the bundled sample): the cache keys clips by their path under the data folder
        caches = ensure_features(config, table.subset(list(chosen)), cache, progress=False)
        sounding = config.input.features[0].rows_are_frequencies
        data = PatchDataset(caches, files, targets, front_end, patch_weights="sound" if sounding else "equal")
        patches = torch.stack([data[i][0] for i in range(len(data))])
        yield SplitInputs(split.name, config, model, files, np.asarray(targets), patches,
                          torch.from_numpy(data.index[:, 0]), torch.from_numpy(data.weights) if sounding else None)


@torch.inference_mode()
def member_probabilities(run: RunDir, table: ClipTable, cache: Path) -> dict[str, dict[str, Any]]:
    """Per split: the validation clips, their targets and each member's clip probabilities ``(clips, K)``."""
    out: dict[str, dict[str, Any]] = {}
    for split in split_inputs(run, table, cache):
        members = []
        for member in range(split.config.model.members):
            probs = torch.cat([split.model(chunk, member=member).float().softmax(-1)
                               for chunk in split.patches.split(256)])
            members.append(clip_probabilities(probs, split.clips, len(split.files), split.weights()).numpy())
        out[split.name] = {"files": split.files, "targets": split.targets, "members": members}
    return out


def scores(probabilities: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per clip: correct (0/1) and log loss."""
    chosen = probabilities[np.arange(len(targets)), targets]
    return (probabilities.argmax(1) == targets).astype(float), -np.log(np.clip(chosen, 1e-15, 1))


def combinations(runs: dict[str, dict[str, dict[str, Any]]]) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Row name → per-clip scores of every way of combining the members of one seed's runs."""
    rows: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    names = list(runs)
    for split in runs[names[0]]:
        parts = [runs[name][split] for name in names]
        if any(p["files"] != parts[0]["files"] for p in parts):
            raise ValueError(f"{split}: the runs were not tuned on the same validation part (another seed?)")
        targets = parts[0]["targets"]
        for name, part in zip(names, parts):
            for member in part["members"]:
                rows.setdefault(f"one member of {name}", []).append(scores(member, targets))
            if len(part["members"]) > 1:
                rows.setdefault(f"{name} (its {len(part['members'])} members averaged)", []).append(
                    scores(np.mean(part["members"], 0), targets))
        for (a, pa), (b, pb) in itertools.combinations(zip(names, parts), 2):
            for m, n in itertools.product(pa["members"], pb["members"]):
                rows.setdefault(f"one member of {a} + one of {b}", []).append(scores((m + n) / 2, targets))
        if len(names) > 1:
            every = [m for p in parts for m in p["members"]]
            rows.setdefault(f"all {len(every)} members of the runs above", []).append(
                scores(np.mean(every, 0), targets))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", choices=("esc10", "fsdd"), default="esc10")
    parser.add_argument("--tuning", type=Path, required=True, help="the --out folder of benchmarks/tuning.py")
    parser.add_argument("--runs", nargs="+", required=True, help="tuning variants whose members to combine")
    parser.add_argument("--seeds", type=int, choices=(1, 3), default=1, help="3: each run's seed-1 and seed-2 rows too")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    out = args.out or Path(f"benchmarks/results/members-{args.data}")
    out.mkdir(parents=True, exist_ok=True)
    table, _ = table_of(args.data)
    rows: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for seed in range(args.seeds):
        runs = {}
        for name in args.runs:
            folder = args.tuning / slug(seeds_of(name)[seed])
            if not RunDir.is_run(folder):
                parser.error(f"{folder}: not a tuning run; run benchmarks/tuning.py --variants "
                             f"{seeds_of(name)[seed]!r}")
            runs[name] = member_probabilities(RunDir(folder), table, args.tuning / "cache")
        for row, values in combinations(runs).items():
            rows.setdefault(row, []).extend(values)
    results = {row: {"accuracy": float(np.concatenate([c for c, _ in v]).mean()),
                     "std_over_splits": float(np.std([c.mean() for c, _ in v])),
                     "log_loss": float(np.concatenate([ll for _, ll in v]).mean()),
                     "clip_predictions": int(sum(len(c) for c, _ in v))} for row, v in rows.items()}
    lines = [f"# Members alone and combined, on validation parts ({args.data}; seeds 0–{args.seeds - 1})", "",
             "Accuracy and log loss over every validation clip of every split and seed (each split's last "
             "checkpoint); no test fold was read.", "", "![members.png](members.png)", "",
             "| members | accuracy (%) | log loss | clip predictions |", "|---|---|---|---|"]
    lines += [f"| {row} | {100 * r['accuracy']:.2f} | {r['log_loss']:.3f} | {r['clip_predictions']} |"
              for row, r in results.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    with replacing(out / "members.md") as tmp:
        tmp.write_text(text)
    with replacing(out / "members.json") as tmp:
        tmp.write_text(json.dumps({"data": args.data, "runs": args.runs, "seeds": args.seeds, "rows": results},
                                  indent=2))
    accuracy_bars(out / "members.png", {row: {"accuracy": {"mean": r["accuracy"], "std": r["std_over_splits"]}}
                                        for row, r in results.items()},
                  what="validation accuracy (std over splits)", rows="member or combination")
    print(f"wrote {out / 'members.md'} and members.png")


if __name__ == "__main__":
    main()
