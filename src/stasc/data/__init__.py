"""Datasets (TAU layout, generic CSV, folder per class) and their splits."""

from stasc.data.datasets import (
    ClipTable,
    DatasetError,
    find_unreadable,
    open_dataset,
    read_csv,
    read_folders,
    read_tau,
    require_readable,
)
from stasc.data.folds import assign_folds, fold_indices, official_split, read_folds, write_folds

__all__ = [
    "ClipTable",
    "DatasetError",
    "assign_folds",
    "find_unreadable",
    "fold_indices",
    "official_split",
    "open_dataset",
    "read_csv",
    "read_folders",
    "read_folds",
    "read_tau",
    "require_readable",
    "write_folds",
]
