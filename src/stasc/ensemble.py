"""Ensembles (SPEC §5), in one place: the votes, the ensemble of cross-validated runs, and the
combined models that predict new audio (a run's fold average, an ensemble's majority vote).

Majority vote: each member votes the class of its highest clip probability (the first class on
a tie within a member); the class with most votes wins. A tie in votes is broken by the sum, over
all members, of the probabilities of the tied classes: the tied class with the largest summed
probability wins; if that ties too (sums within 1e-9 of each other), the tied class with the
lowest index in ``classes`` wins. The returned probabilities are the vote shares (votes /
members; a unanimous clip has probability 1 for its class), with 1e-9 added to the winning class
on a tie and the row renormalised, so that the argmax of the shares is always the decision.
Soft vote: the mean of the members' probabilities; the decision is its argmax.

Members must cover the same clips (aligned by file name; the order may differ) with the same
labels, folds and class list; otherwise ``ValueError`` says what differs. An ensemble folder holds
``ensemble.json`` (its member runs), the votes' predictions and the report with one row per
member and one per vote.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from stasc.atomic import write_text
from stasc.evaluation.devices import breakdown
from stasc.evaluation.predictions import Predictions, concat, write_predictions
from stasc.evaluation.report import PAPER_TABLE2, write_report
from stasc.evaluation.runs import run_predictions, run_protocol
from stasc.inference import CheckpointError, FilePrediction, WindowModel, predict_file
from stasc.runs import RunDir

ENSEMBLE_FILE = "ensemble.json"


def align(members: Sequence[Predictions]) -> list[Predictions]:
    """The members ordered like the first one; refuses members that differ in clips, labels, folds or classes."""
    if len(members) < 2:
        raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
    first = members[0]
    order = {name: i for i, name in enumerate(first.filenames)}
    aligned = [first]
    for number, member in enumerate(members[1:], start=1):
        if member.classes != first.classes:
            raise ValueError(f"member {number} has classes {list(member.classes)}, member 0 {list(first.classes)}")
        extra = sorted(set(member.filenames) - set(order))
        missing = sorted(set(order) - set(member.filenames))
        if extra or missing:
            raise ValueError(
                f"member {number} has {len(extra)} clips that member 0 lacks and lacks {len(missing)} of its clips "
                f"(e.g. {(extra or missing)[:3]}): the runs must share folds and clips"
            )
        position = {name: i for i, name in enumerate(member.filenames)}
        index = np.array([position[name] for name in first.filenames], dtype=np.int64)
        reordered = Predictions([member.filenames[i] for i in index], [member.labels[i] for i in index],
                                member.folds[index], member.classes, member.probabilities[index])
        for name, fold_a, fold_b, label_a, label_b in zip(first.filenames, first.folds, reordered.folds, first.labels,
                                                          reordered.labels):
            if fold_a != fold_b:
                raise ValueError(f"fold of clip {name} differs between member 0 ({fold_a}) and member {number} "
                                 f"({fold_b})")
            if label_a != label_b:
                raise ValueError(f"label of clip {name} differs between member 0 ({label_a}) and member {number} "
                                 f"({label_b})")
        aligned.append(reordered)
    return aligned


def majority_shares(probs: np.ndarray) -> np.ndarray:
    """Majority vote of ``probs (members, clips, classes)`` → vote shares ``(clips, classes)`` whose
    argmax is the decided class (ties broken as the module docstring says)."""
    n_members, n_clips, n_classes = probs.shape
    votes = np.zeros((n_clips, n_classes))
    np.add.at(votes, (np.arange(n_clips)[None].repeat(n_members, 0), probs.argmax(2)), 1.0)
    summed = probs.sum(0)  # N, K
    most = votes.max(1, keepdims=True)
    # among the classes with the most votes, the largest summed probability (within 1e-9, so that
    # rounding does not decide); argmax of the boolean mask takes the lowest class index
    tied = np.where(votes == most, summed, -np.inf)
    winner = (tied >= tied.max(1, keepdims=True) - 1e-9).argmax(1)
    shares = votes / n_members
    # a hair more for the decided class, so the argmax of the shares is the decision even on a tie
    shares[np.arange(n_clips), winner] += 1e-9
    return shares / shares.sum(1, keepdims=True)


def majority_vote(members: Sequence[Predictions]) -> Predictions:
    """The paper's majority vote of ``members`` (ties as the module docstring says); the returned
    probabilities are the vote shares, clips in the order of the first member."""
    aligned = align(members)
    shares = majority_shares(np.stack([m.probabilities for m in aligned]))
    first = aligned[0]
    return Predictions(list(first.filenames), list(first.labels), first.folds.copy(), first.classes, shares)


def soft_vote(members: Sequence[Predictions]) -> Predictions:
    """The mean of the members' clip probabilities, clips in the order of the first member."""
    aligned = align(members)
    mean = np.mean([m.probabilities for m in aligned], axis=0)
    first = aligned[0]
    return Predictions(list(first.filenames), list(first.labels), first.folds.copy(), first.classes, mean)


VOTES: dict[str, Callable[[Sequence[Predictions]], Predictions]] = {"majority vote": majority_vote,
                                                                     "soft vote": soft_vote}


VOTE_PROTOCOL = ("a vote of the members' test-clip predictions, fold by fold: the vote itself chooses nothing, "
                 "each member's model is selected as its own protocol says")


def ensemble_protocol(members: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The protocol of a vote of runs whose protocols are ``members`` (name → :func:`run_protocol`).

    Members that share a protocol give it, with the vote named; members that differ give each one,
    and ``selection`` says ``test-fold`` if any member was selected on the test fold (the vote of an
    optimistic member is optimistic too), else ``mixed``.
    """
    shared = {tuple(sorted((k, str(v)) for k, v in p.items())) for p in members.values()}
    if len(shared) == 1:
        first = next(iter(members.values()))
        return {**first, "description": f"{VOTE_PROTOCOL}; the members' protocol: {first['description']}"}
    selections = {p.get("selection") for p in members.values()}
    return {"selection": "test-fold" if "test-fold" in selections else "mixed", "members": members,
            "description": f"{VOTE_PROTOCOL}; the members differ: "
            + "; ".join(f"{name}: {p['description']}" for name, p in members.items())}


def build_ensemble(runs: list[Path], out: Path) -> dict[str, Any]:
    """Vote the test-clip decisions of ``runs`` fold by fold and write the report into ``out``."""
    # a run repeated over seeds contributes each seed's run (the seeds of one preset can be the members)
    dirs = [member for run in runs for member in (RunDir(run).seed_runs() or [RunDir(run)])]
    if len(dirs) < 2:
        raise ValueError(f"an ensemble needs at least 2 runs, got {len(dirs)}")
    runs = [d.root for d in dirs]
    names = [f"{d.name()}, {d.root.name}" if d.root.name.startswith("seed-") else d.name() for d in dirs]
    if len(set(names)) != len(names):
        names = [f"{name} #{i + 1}" for i, name in enumerate(names)]
    members = {name: concat(run_predictions(d)) for name, d in zip(names, dirs)}
    splits = [[s.name for s in d.test_splits()] for d in dirs]
    if any(s != splits[0] for s in splits[1:]):
        raise ValueError(
            f"the runs were trained on different splits: {dict(zip(names, splits))}; they must share folds"
        )
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
    write_text(out / ENSEMBLE_FILE, json.dumps({"members": [str(run.resolve()) for run in runs], "names": names},
                                               indent=2))
    notes = [
        "majority vote: each member votes its clip-level class; most votes wins; a tie goes to the tied class "
        "with the largest probability summed over the members (then the first in class order)",
        "soft vote: the mean of the members' clip probabilities",
    ]
    attributes = [split.read_result().get("attributes", {}) for split in dirs[0].test_splits()]
    devices = breakdown(rows["majority vote"], attributes)
    if devices:
        notes.append("the results by device and city are the majority vote's")
    return write_report(out, title=f"ensemble of {len(runs)} runs", rows=rows, notes=notes, paper=PAPER_TABLE2,
                        protocol=ensemble_protocol({name: run_protocol(d) for name, d in zip(names, dirs)}),
                        breakdown=devices)


def is_ensemble(folder: Path) -> bool:
    return (Path(folder) / ENSEMBLE_FILE).is_file()


def ensemble_members(folder: Path) -> list[Path]:
    """The member runs of an ensemble folder."""
    path = Path(folder) / ENSEMBLE_FILE
    if not path.is_file():
        raise ValueError(f"{folder}: not an ensemble folder (no {ENSEMBLE_FILE}); make one with `stasc ensemble`")
    return [Path(p) for p in json.loads(path.read_text())["members"]]


class CombinedModel:
    """Several :class:`~stasc.inference.WindowModel` members as one: every window goes through each
    member (the file is decoded once) and their probabilities are combined by ``combine``
    (``(members, W, K)`` → ``(W, K)``)."""

    def __init__(
        self, members: Sequence[WindowModel], combine: Callable[[np.ndarray], np.ndarray], *, what: str
    ) -> None:
        if not members:
            raise CheckpointError(f"{what}: no model to combine")
        first = members[0]
        for member in members[1:]:
            if member.classes != first.classes:
                raise CheckpointError(f"{what}: members disagree on the class list")
            if (member.sample_rate, member.mono_views) != (first.sample_rate, first.mono_views):
                raise CheckpointError(f"{what}: members need audio at different rates or views "
                                      f"({member.sample_rate} Hz / {first.sample_rate} Hz); they cannot share windows")
        self.members = list(members)
        self.combine = combine
        self.classes = first.classes
        self.sample_rate = first.sample_rate
        self.mono_views = first.mono_views
        self.min_samples = max(m.min_samples for m in members)

    def window_probabilities(self, views: Tensor | Sequence[Tensor]) -> Tensor:
        windows = list(views)
        stacked = np.stack([m.window_probabilities(windows).double().numpy() for m in self.members])  # M, W, K
        return torch.from_numpy(self.combine(stacked))

    def predict_file(
        self, path: str | Path, *, window_seconds: float = 10.0, hop_seconds: float = 10.0
    ) -> FilePrediction:
        return predict_file(self, path, window_seconds=window_seconds, hop_seconds=hop_seconds)


def averaged(members: Sequence[WindowModel], *, what: str) -> CombinedModel:
    """The mean of the members' probabilities (a run's fold models)."""
    return CombinedModel(members, lambda stacked: stacked.mean(0), what=what)


def majority(members: Sequence[WindowModel], *, what: str) -> CombinedModel:
    """The paper's majority vote of the members, window by window (ties as the module docstring says)."""
    if len(members) < 2:
        raise CheckpointError(f"{what}: an ensemble needs at least 2 members")
    return CombinedModel(members, majority_shares, what=what)
