"""Ensembles of runs (SPEC §5): the paper's majority vote and a soft vote.

Majority vote: each member votes the class of its highest clip probability (the first class on
a tie within a member); the class with most votes wins. A tie in votes is broken by the sum, over
all members, of the probabilities of the tied classes: the tied class with the largest summed
probability wins; if that ties too (sums within 1e-9 of each other), the tied class with the
lowest index in ``classes`` wins. The returned probabilities are the vote shares (votes /
members; a unanimous clip has probability 1 for its class), with 1e-9 added to the winning class
on a tie and the row renormalised, so that the argmax of the shares is always the decision.
Soft vote: the mean of the members' probabilities; the decision is its argmax.

Members must cover the same clips (aligned by file name; the order may differ) with the same
labels, folds and class list; otherwise ``ValueError`` says what differs.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stasc.evaluation.predictions import Predictions


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
