"""Argument groups that several subcommands share."""

from __future__ import annotations

import argparse
from pathlib import Path

from stasc.data.datasets import ClipTable, open_dataset


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dataset")
    group.add_argument(
        "--data", type=Path, required=True,
        help="a TAU-layout folder (meta.csv + audio/), a CSV file (filename,label[,group]) or a folder "
        "holding one, or a folder with one subfolder per class",
    )
    group.add_argument("--label-column", help="CSV column with the class label (default: label or scene_label)")
    group.add_argument(
        "--group-column",
        help="CSV column with the recording location or speaker that folds keep together "
        "(default: the first of group, identifier, speaker, location)",
    )
    group.add_argument("--audio-root", type=Path, help="folder the CSV's file names are relative to")


def load_table(args: argparse.Namespace) -> ClipTable:
    options = {}
    if args.label_column:
        options["label_column"] = args.label_column
    if args.group_column:
        options["group_column"] = args.group_column
    if args.audio_root:
        options["audio_root"] = args.audio_root
    return open_dataset(args.data, **options)
