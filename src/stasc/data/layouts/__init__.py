"""The built-in dataset layouts; importing this package registers them (TAU, CSV, folder per class)."""

from stasc.data.layouts import csv, folders, tau
from stasc.data.layouts.registry import (
    DatasetLayout,
    ReadOptions,
    layout_of,
    layouts,
    official_split,
    open_dataset,
    register_layout,
)

__all__ = ["DatasetLayout", "ReadOptions", "csv", "folders", "layout_of", "layouts", "official_split",
           "open_dataset", "register_layout", "tau"]
