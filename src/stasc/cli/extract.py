"""``stasc extract``: fill the feature cache for a dataset (resumable, shardable)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stasc.cli.options import add_data_arguments, load_table
from stasc.config import from_dict, merge, parse_assignments, to_dict
from stasc.data.datasets import find_unreadable
from stasc.features.cache import CACHE_DTYPES
from stasc.features.extract import extract, parse_shard, summarize
from stasc.features.spec import NAMED_FEATURES, FeatureSpec


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "extract",
        help="compute spectrograms into the on-disk feature cache",
        description="Compute the paper's spectrograms for every clip of a dataset into a memory-mapped cache "
        "keyed by the feature settings and the code version: a changed setting never reuses stale features, "
        "an unchanged one is never recomputed. Kill it at any moment and run it again: it finishes the rest. "
        "A bad audio file is listed (on screen and in failures.csv in the cache) and the rest is extracted.",
        epilog="examples:\n"
        "  stasc extract --data TAU-urban-acoustic-scenes-2019-development --features mfcc2048,cqt --cache cache\n"
        "  stasc extract --data DATA --features mfcc2048 --cache cache --shard 3/8   # one of 8 array jobs\n"
        "  stasc extract --data fsdd/labels.csv --features mfcc2048 --cache cache --set sample_rate=8000 "
        "--set n_fft=256 --set hop_length=64\n"
        "exit status: 0 all clips extracted; 1 some clips failed (the rest are cached; see failures.csv); "
        "2 bad usage or data",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_data_arguments(parser)
    parser.add_argument(
        "--features", required=True,
        help=f"comma-separated feature names: {', '.join(NAMED_FEATURES)}",
    )
    parser.add_argument("--cache", type=Path, required=True, help="cache root folder (one subfolder per feature setting)")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
        help="override a feature field for every feature (e.g. sample_rate=8000); repeatable",
    )
    parser.add_argument("--workers", type=int, default=0, help="decoding worker processes (default: 0, in-process)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    parser.add_argument("--shard", default="0/1", help="I/N: extract every N-th clip from clip I (I counts from 0)")
    parser.add_argument("--batch-size", type=int, default=8, help="clips per feature batch (default: 8)")
    parser.add_argument("--mono-views", type=int, choices=(1, 3), default=1, help="views per mono file (default: 1)")
    parser.add_argument("--dtype", choices=CACHE_DTYPES, default="float32", help="stored dtype (default: float32)")
    parser.add_argument(
        "--part-mb", type=float, default=64.0,
        help="commit computed clips to disk every this many MB (default: 64); a kill loses at most one part",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def resolve_features(names: str, overrides: list[str]) -> list[FeatureSpec]:
    changes = parse_assignments(overrides)
    specs = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        specs.append(from_dict(FeatureSpec, merge(to_dict(FeatureSpec.named(name)), changes)))
    if not specs:
        raise ValueError("--features names no feature")
    return specs


def run(args: argparse.Namespace) -> int:
    specs = resolve_features(args.features, args.overrides)
    shard = parse_shard(args.shard)
    table = load_table(args)
    unreadable = dict(find_unreadable(table))
    if unreadable:
        print(f"{len(unreadable)} of {len(table)} clips cannot be read and will be skipped:", file=sys.stderr)
        for name, problem in unreadable.items():
            print(f"  {table.audio_root / name}: {problem}", file=sys.stderr)
    status = 0
    for spec in specs:
        report = extract(
            table, spec, args.cache, mono_views=args.mono_views, dtype=args.dtype, workers=args.workers,
            device=args.device, shard=shard, batch_size=args.batch_size, part_bytes=max(1, int(args.part_mb * 2**20)),
            progress=not args.no_progress,
        )
        print(summarize(report))
        if not report.ok:
            status = 1
    return status
