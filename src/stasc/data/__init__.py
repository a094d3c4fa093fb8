"""Datasets (TAU layout, generic CSV, folder per class) and their splits."""

from stasc.data.folds import (
    Folds,
    assign_folds,
    cv_folds,
    fold_indices,
    read_folds,
    validation_fold,
    validation_split,
    write_folds,
)
from stasc.data.layouts import ReadOptions, layout_of, official_split, open_dataset, register_layout
from stasc.data.layouts.csv import read_csv
from stasc.data.layouts.folders import read_folders
from stasc.data.layouts.tau import read_tau
from stasc.data.table import ClipTable, DatasetError, find_unreadable, require_readable

__all__ = [
    "ClipTable", "DatasetError", "Folds", "ReadOptions", "assign_folds", "cv_folds", "find_unreadable",
    "fold_indices", "layout_of", "official_split", "open_dataset", "read_csv", "read_folders", "read_folds",
    "read_tau", "register_layout", "require_readable", "validation_fold", "validation_split",
    "write_folds",
]
