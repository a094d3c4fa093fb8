"""``stasc download``: fetch a registered dataset, resumable and verified, into the TAU layout."""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from tqdm.contrib.logging import logging_redirect_tqdm

from stasc.cli.errors import EXIT_OK, EXIT_SOME_FAILED
from stasc.download import (
    DatasetEntry,
    RetryPolicy,
    default_registry,
    download_dataset,
    format_bytes,
    load_registry,
    summarize,
)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be >= 0 seconds, got {text}")
    return value


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download a dataset (TAU Urban Acoustic Scenes 2019 development, …), resumable and verified",
        description=textwrap.fill(
            "Download a dataset of the registry, check every zip's size and md5, extract it into DIR "
            "and check that every file listed in meta.csv is there and readable. The dataset ends up in "
            "DIR/<its folder> (for tau2019-dev: DIR/TAU-urban-acoustic-scenes-2019-development), the path printed "
            "at the end, which `stasc extract --data` takes. Interrupt it at any moment and run the same command "
            "again: partial downloads resume (HTTP Range), verified zips and extracted files are not fetched again "
            "(DIR/stasc-download.json records what is extracted; zips are deleted once extracted unless "
            "--keep-zips). Free disk space is checked first against the plan (for extraction: the sizes the "
            "members of a zip declare once it is here, else its size x 1.05; + the zips downloading at once), "
            "and again before each zip is extracted. Every file is bounded by the size the registry lists: a "
            "server sending more is refused. Zips with members outside DIR, symbolic links or implausible "
            "compression ratios (zip bombs) are refused before anything of them is written.",
            width=100,
        ),
        epilog="examples:\n"
        "  stasc download --list\n"
        "  stasc download tau2019-dev --to data   # 23 files, 35.6 GB:\n"
        "                                           # data/TAU-urban-acoustic-scenes-2019-development\n"
        "  stasc download tau2019-dev --to data --parts meta,doc          # metadata only (168 kB)\n"
        "  stasc download tau2019-dev --to data --mirror https://mirror.example.org/tau2019 --jobs 4\n"
        "  stasc download tau2020-mobile-dev --to data --parts meta   # TAU 2020 Mobile, the meta part (214.2 kB)\n"
        "  stasc extract --data data/TAU-urban-acoustic-scenes-2019-development --features mfcc2048 --cache cache\n"
        "exit status: 0 dataset complete and verified; 1 some files failed to download, verify or extract, or "
        "files of meta.csv are missing or unreadable (all listed; run again to resume); 2 bad usage, unknown "
        "dataset, bad registry, or a local file error such as permission denied or a read-only disk (one line "
        "naming the path); 3 not enough disk space, found before downloading or when the disk filled up (one "
        "line naming the path and the space needed; partial downloads are kept, run again once space is freed)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", nargs="?", help="dataset id (see --list)")
    parser.add_argument("--list", action="store_true", help="list the known datasets, their parts and sizes, and exit")
    parser.add_argument(
        "--to", type=Path, metavar="DIR",
        help="folder to download into (created if needed); nothing outside it is written",
    )
    parser.add_argument(
        "--parts", metavar="LIST", help="comma-separated parts to download, e.g. audio,meta,doc (default: all)"
    )
    parser.add_argument(
        "--mirror", metavar="URL",
        help="base URL replacing the registry's (an institutional mirror holding the same file names; "
        "http(s):// or file://)",
    )
    parser.add_argument(
        "--jobs", type=_positive_int, default=2, metavar="N", help="files downloaded at once (default: 2)"
    )
    parser.add_argument("--keep-zips", action="store_true",
                        help="keep the zips after extraction (needs twice the space)")
    parser.add_argument(
        "--retries", type=_positive_int, default=RetryPolicy.attempts, metavar="N",
        help="network tries per file in a row without progress before giving up "
        f"(default: {RetryPolicy.attempts}); a checksum mismatch is downloaded again "
        f"{RetryPolicy.checksum_attempts - 1} times",
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=RetryPolicy.timeout_seconds, metavar="SECONDS",
        help=f"network timeout per connect/read (default: {RetryPolicy.timeout_seconds:g})",
    )
    parser.add_argument(
        "--backoff", type=_seconds, default=RetryPolicy.backoff_seconds, metavar="SECONDS",
        help=f"first wait before a retry, doubling up to {RetryPolicy.max_backoff_seconds:g} s "
        f"(default: {RetryPolicy.backoff_seconds:g})",
    )
    parser.add_argument(
        "--registry", type=Path, metavar="INDEX_CSV",
        help=f"a registry index to use instead of the bundled one ({default_registry()}); columns "
        "id,title,files,folder[,homepage,licence,citation], each files CSV with url,bytes,md5,part",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def describe(entry: DatasetEntry) -> str:
    """Lines for ``--list``: id, size, title, parts, homepage and licence."""
    sizes = []
    for part in entry.parts:
        files = [f for f in entry.files if f.part == part]
        count = f"{len(files)} file" if len(files) == 1 else f"{len(files)} files"
        sizes.append(f"{part} ({count}, {format_bytes(sum(f.size_bytes for f in files))})")
    lines = [
        f"{entry.id}  {len(entry.files)} files, {format_bytes(entry.size_bytes)}  {entry.title}",
        f"    parts: {', '.join(sizes)}",
    ]
    lines += [f"    {label}: {value}" for label, value in
              (("homepage", entry.homepage), ("licence", entry.licence), ("cite", entry.citation)) if value]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """``stasc download``; a local file error or a full disk is one line and its exit status (``stasc.cli``)."""
    registry = load_registry(args.registry)
    if args.list:
        print("\n".join(describe(entry) for entry in registry.values()))
        return EXIT_OK
    if not args.dataset:
        raise ValueError(f"name a dataset to download ({', '.join(registry)}), or pass --list")
    if args.dataset not in registry:
        raise ValueError(f"unknown dataset {args.dataset!r}; known: {', '.join(registry)} (see --list)")
    if args.to is None:
        raise ValueError("--to DIR is required: the folder to download into")
    entry = registry[args.dataset]
    parts = [p.strip() for p in args.parts.split(",") if p.strip()] if args.parts else None
    policy = RetryPolicy(attempts=args.retries, timeout_seconds=args.timeout, backoff_seconds=args.backoff)
    # network errors are per file, in the report; a local disk's error ends the run in one line (stasc.cli)
    with logging_redirect_tqdm():
        report = download_dataset(entry, args.to, parts=parts, mirror=args.mirror, jobs=args.jobs,
                                  keep_zips=args.keep_zips, policy=policy, progress=not args.no_progress)
    for outcome in report.failed:
        print(f"failed: {outcome.error}", file=sys.stderr)
    if report.problems:
        print(f"{len(report.problems)} files of {report.dataset_path / 'meta.csv'} are missing or unreadable:",
              file=sys.stderr)
        for name, problem in report.problems:
            print(f"  {name}: {problem}", file=sys.stderr)
    print(summarize(report))
    if report.ok and report.verified_clips:
        print(f"next: stasc extract --data {report.dataset_path} --features mfcc2048 --cache cache")
    return EXIT_OK if report.ok else EXIT_SOME_FAILED
