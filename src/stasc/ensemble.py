"""Ensembles of cross-validated runs (SPEC §5): the paper's majority vote and a soft vote, fold by fold.

An ensemble folder holds ``ensemble.json`` (its member runs), the votes' predictions and the
report with one row per member and one per vote.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stasc.evaluation.predictions import Predictions, concat, write_predictions
from stasc.evaluation.report import PAPER_TABLE2, write_report
from stasc.evaluation.runs import run_name, run_predictions, split_folders
from stasc.evaluation.votes import align, majority_vote, soft_vote

VOTES = {"majority vote": majority_vote, "soft vote": soft_vote}


def member_name(run: Path) -> str:
    return run_name(run)


def build_ensemble(runs: list[Path], out: Path) -> dict[str, Any]:
    """Vote the clip decisions of ``runs`` fold by fold and write the report into ``out``."""
    if len(runs) < 2:
        raise ValueError(f"an ensemble needs at least 2 runs, got {len(runs)}")
    names = [member_name(run) for run in runs]
    if len(set(names)) != len(names):
        names = [f"{name} #{i + 1}" for i, name in enumerate(names)]
    members = {name: concat(run_predictions(run)) for name, run in zip(names, runs)}
    splits = [[p.name for p in split_folders(run)] for run in runs]
    if any(s != splits[0] for s in splits[1:]):
        raise ValueError(f"the runs were trained on different splits: {dict(zip(names, splits))}; they must share folds")
    try:
        align(list(members.values()))  # same clips, labels and folds, or a clear error
    except ValueError as err:
        raise ValueError(f"the runs cannot be combined: {err}") from err
    out.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[Predictions]] = {name: preds.by_fold() for name, preds in members.items()}
    for vote_name, vote in VOTES.items():
        voted = vote(list(members.values()))
        write_predictions(out / f"{vote_name.replace(' ', '_')}_predictions.csv", voted)
        rows[vote_name] = voted.by_fold()
    tmp = out / ".ensemble.json.tmp"
    tmp.write_text(json.dumps({"members": [str(run.resolve()) for run in runs], "names": names}, indent=2))
    os.replace(tmp, out / "ensemble.json")
    notes = [
        "majority vote: each member votes its clip-level class; most votes wins; a tie goes to the tied class "
        "with the largest probability summed over the members (then the first in class order)",
        "soft vote: the mean of the members' clip probabilities",
    ]
    return write_report(out, title=f"ensemble of {len(runs)} runs", rows=rows, notes=notes, paper=PAPER_TABLE2)


def ensemble_members(folder: Path) -> list[Path]:
    """The member runs of an ensemble folder."""
    path = folder / "ensemble.json"
    if not path.is_file():
        raise ValueError(f"{folder}: not an ensemble folder (no ensemble.json); make one with `stasc ensemble`")
    return [Path(p) for p in json.loads(path.read_text())["members"]]
