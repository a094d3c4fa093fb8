"""How a figure was obtained: the folds, what selected the model, how many epochs. Every split's
``result.json`` and every report carries it, in words and as data."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from stasc.config import ExperimentConfig

FoldSource = Literal["dataset", "grouped", "official", "none"]


@dataclass(frozen=True)
class Protocol:
    """How a split's figures were obtained; every report carries it."""

    selection: str  # validation | test-fold | last
    validation_fraction: float  # of the training side's groups held out for selection (0: none, or a whole fold)
    folds: FoldSource  # dataset: the metadata's own folds; grouped: assigned by stasc; official: a train/test split
    max_epochs: int
    monitor: str | None  # what chose the epoch (None for "last")
    selection_window: int = 1  # epochs the monitored value was averaged over
    validation_part: str = "groups"  # groups: validation_fraction of the training side's groups; fold: one whole fold

    def describe(self) -> str:
        """The protocol in words, for reports."""
        window = f", mean of {self.selection_window} epochs" if self.selection_window > 1 else ""
        if self.selection == "validation":
            part = ("one whole fold of the training side" if self.validation_part == "fold"
                    else f"{self.validation_fraction:.3g} of the training side's groups")
            chosen = (f"model selected on a held-out validation part ({part}, by {self.monitor}{window}); each test "
                      "clip scored once")
        elif self.selection == "test-fold":
            chosen = (f"model selected on the test fold itself (by {self.monitor}{window}): optimistic, as the "
                      "paper's CV")
        else:
            chosen = (f"no selection: the model after the last of {self.max_epochs} epochs (a fixed budget); each test "
                      "clip scored once")
        folds = {"dataset": "the dataset's own folds", "grouped": "folds grouped by location/source, stratified",
                 "official": "the dataset's official train/test split", "none": "no test clips"}[self.folds]
        return f"{folds}; {chosen}; at most {self.max_epochs} epochs"

    def to_dict(self) -> dict[str, Any]:
        return {"selection": self.selection, "validation_fraction": self.validation_fraction, "folds": self.folds,
                "max_epochs": self.max_epochs, "monitor": self.monitor, "selection_window": self.selection_window,
                "validation_part": self.validation_part, "description": self.describe()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Protocol:
        return cls(**{k: v for k, v in data.items() if k != "description"})


def protocol(config: ExperimentConfig, folds: FoldSource) -> Protocol:
    """The protocol a configuration gives on splits from ``folds``."""
    train = config.train
    groups = train.selection == "validation" and train.validation_part == "groups"
    return Protocol(train.selection, train.validation_fraction if groups else 0.0, folds,
                    train.max_epochs, None if train.selection == "last" else train.monitor,
                    1 if train.selection == "last" else train.selection_window,
                    train.validation_part if train.selection == "validation" else "groups")
