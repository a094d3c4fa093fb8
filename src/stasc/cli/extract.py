"""``stasc extract``: fill the feature cache for a dataset (resumable, shardable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stasc.cli.options import add_data_arguments, add_preset_argument, add_set_argument, load_table
from stasc.config import ConfigError, ExperimentConfig, load_experiment, merge, parse_assignments
from stasc.data import find_unreadable
from stasc.extraction import extract, parse_shard, summarize
from stasc.features import feature_kinds, named_features
from stasc.loading import check_device


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="compute spectrograms into the on-disk feature cache",
        description="Compute the spectrograms of a preset (or of the named features) for every clip of a dataset "
        "into a memory-mapped cache keyed by the feature settings and the code version: a changed setting never "
        "reuses stale features, an unchanged one is never recomputed. Kill it at any moment and run it again: it "
        "finishes the rest. Several processes (or machines) may fill one cache at once: no clip is computed twice. A "
        "bad audio file is listed (on screen and in the cache's failures file) and the rest is extracted. "
        f"Paper names: {', '.join(named_features())}; kinds: {', '.join(feature_kinds())}.",
        epilog="examples:\n"
        "  stasc extract --data TAU-urban-acoustic-scenes-2019-development --features mfcc2048,cqt --cache cache\n"
        "  stasc extract --data ../shared/data/esc10/labels.csv --preset envsound --cache cache\n"
        "  stasc extract --data DATA --features mfcc2048 --cache cache --shard 3/8   # one of 8 array jobs\n"
        "  stasc extract --data DATA --features hpss_mfcc2048 --cache cache --device cuda\n"
        "  stasc extract --data fsdd/labels.csv --cache cache "
        "--set 'input.features=[{kind: mfcc, sample_rate: 8000, n_fft: 256, hop_length: 64, n_mels: 64, n_mfcc: 64}]'\n"
        "exit status: 0 all clips extracted; 1 some clips failed (the rest are cached; see the failures file); "
        "2 bad usage or data; 3 not enough disk space",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    add_preset_argument(parser, required=False)
    parser.add_argument("--features", help="comma-separated paper names or kinds (instead of a preset's features)")
    parser.add_argument("--cache", type=Path, required=True,
                        help="cache root folder (one subfolder per feature setting)")
    add_set_argument(parser, "the preset (input.features, input.mono_views, input.cache_dtype …)")
    parser.add_argument("--workers", type=int,
                        help="decoding worker processes (default: none on a CPU; the cores, up to 8, on a GPU)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--shard", default="0/1", help="I/N: extract every N-th clip from clip I (I counts from 0)")
    parser.add_argument("--batch-size", type=int, help="clips per feature batch (default: 8 on a CPU, 32 on a GPU)")
    parser.add_argument(
        "--part-mb", type=float, default=64.0,
        help="commit computed clips to disk every this many MB (default: 64); a kill loses at most one part",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def experiment(args: argparse.Namespace) -> ExperimentConfig:
    """The experiment whose input section says what to extract: a preset, or the named features."""
    overrides = parse_assignments(args.overrides)
    if args.features:
        names = [n.strip() for n in args.features.split(",") if n.strip()]
        if not names:
            raise ConfigError("--features names no feature")
        overrides = merge({"input": {"features": names}, "model": {"in_channels": len(names)}}, overrides)
    elif not args.preset and "input" not in overrides:
        raise ConfigError("say what to extract: --preset NAME, --features NAMES or --set input.features=[...]")
    if "input" in overrides and "features" in overrides["input"] and "model" not in overrides:
        overrides = merge(overrides, {"model": {"in_channels": len(overrides["input"]["features"])}})
    return load_experiment(args.preset or "mfcc", overrides)


def run(args: argparse.Namespace) -> int:
    check_device(args.device)
    config = experiment(args)
    shard = parse_shard(args.shard)
    table = load_table(args)
    unreadable = dict(find_unreadable(table))
    if unreadable:
        print(f"{len(unreadable)} of {len(table)} clips cannot be read and will be skipped:", file=sys.stderr)
        for name, problem in unreadable.items():
            print(f"  {table.audio_root / name}: {problem}", file=sys.stderr)
    status = 0
    for spec in config.input.features:
        report = extract(
            table, spec, args.cache, mono_views=config.input.mono_views, dtype=config.input.cache_dtype,
            workers=args.workers, device=args.device, shard=shard, batch_size=args.batch_size,
            part_bytes=max(1, int(args.part_mb * 2**20)), progress=not args.no_progress,
        )
        print(summarize(report))
        if not report.ok:
            status = 1
    return status
