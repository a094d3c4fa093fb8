"""Argument groups that several subcommands share, and the readers they feed."""

from __future__ import annotations

import argparse
from pathlib import Path

from stasc.config import ExperimentConfig, load_experiment, parse_assignments, preset_names
from stasc.data import ClipTable, ReadOptions, open_dataset


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dataset")
    group.add_argument(
        "--data", type=Path, required=True,
        help="a TAU-layout folder (meta.csv + audio/), a CSV file (filename,label[,group][,fold]) or a folder "
        "holding one, or a folder with one subfolder per class",
    )
    group.add_argument("--label-column", help="CSV column with the class label (default: label, scene_label, "
                       "category or class)")
    group.add_argument(
        "--group-column",
        help="CSV column with the recording location, source recording or speaker that splits keep together "
        "(default: the first of group, identifier, speaker, location)",
    )
    group.add_argument("--fold-column", help="CSV column with the dataset's own cross-validation folds "
                       "(default: fold, when present)")
    group.add_argument("--audio-root", type=Path, help="folder the CSV's file names are relative to")


def load_table(args: argparse.Namespace) -> ClipTable:
    return open_dataset(args.data, ReadOptions(label_column=args.label_column, group_column=args.group_column,
                                               fold_column=args.fold_column, audio_root=args.audio_root))


def add_set_argument(parser: argparse.ArgumentParser, what: str = "the preset") -> None:
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help=f"override a key of {what} (the experiment's keys, the same in every command), e.g. "
        "train.max_epochs=3 or model.width_multiplier=0.25 or 'input.features=[{kind: logmel, n_mels: 40}]'; "
        "repeatable",
    )


def add_preset_argument(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--preset", required=required,
                        help=f"a preset name ({', '.join(preset_names())}) or a YAML file")


def load_config(args: argparse.Namespace) -> ExperimentConfig:
    return load_experiment(args.preset, parse_assignments(args.overrides))


def add_folds_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--k", type=int, help="number of grouped folds for data without its own folds "
                        "(default: 5, as the paper); data with a fold column uses its own")
    parser.add_argument("--folds", choices=("dataset", "grouped"),
                        help="dataset: the metadata's own folds (a fold column; the default when it has one); "
                        "grouped: K folds stratified by class and grouped by location/source, assigned by stasc")
