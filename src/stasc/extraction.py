"""Fill a feature cache for a dataset: decode in worker processes, compute in batches, commit parts.

A job above both the datasets (:mod:`stasc.data`) and the features (:mod:`stasc.features`).

A clip that cannot be decoded is reported (and written to ``failures.csv``) while the rest go
on; a clip already in the cache is never computed again, so a killed run resumes where it
stopped. ``shard=(i, n)`` takes every n-th clip starting at i, so n machines fill one cache.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from stasc.audio import AudioError, MonoViews, load_views
from stasc.config import ExperimentConfig
from stasc.data import ClipTable, DatasetError
from stasc.features.cache import PART_BYTES, FeatureCache, claim_name, source_stamp
from stasc.features.registry import FeatureSettings, build_transform
from stasc.progress import bar as progress_bar

log = logging.getLogger(__name__)


@dataclass
class ExtractReport:
    """What one extraction run did."""

    cache: Path
    feature: str
    selected: int = 0
    cached_before: int = 0
    extracted: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    failures_file: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` → ``(I, N)`` with ``0 <= I < N``."""
    try:
        index_text, count_text = text.split("/")
        index, count = int(index_text), int(count_text)
    except ValueError as err:
        raise ValueError(f"--shard must look like I/N (e.g. 0/4), got {text!r}") from err
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"--shard {text}: need N >= 1 and 0 <= I < N (shards are numbered from 0)")
    return index, count


CLAIMED = "claimed by another process"
COMMITTED = "committed by another process"


class _DecodedClips(Dataset[tuple[int, "torch.Tensor | str"]]):
    """Claims, decodes, resamples and splits into views in a worker; a bad file yields its error text,
    a clip another process is computing yields :data:`CLAIMED`, one it has committed meanwhile
    :data:`COMMITTED`."""

    def __init__(self, table: ClipTable, indices: list[int], sample_rate: int, mono_views: MonoViews,
                 cache: FeatureCache) -> None:
        self.table = table
        self.indices = indices
        self.sample_rate = sample_rate
        self.mono_views = mono_views
        self.cache = cache
        self.claims = cache.claims

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> tuple[int, torch.Tensor | str]:
        index = self.indices[item]
        name, path = self.table.files[index], self.table.path(index)
        try:
            claim = claim_name(name, source_stamp(path))
        except OSError:
            claim = name  # a missing or unreadable file: load_views says why below
        if not self.claims.take(claim):
            return index, CLAIMED
        # claimed, but perhaps committed by another process since this one listed what was missing
        if self.cache.is_current(name, path, refresh=True):
            self.claims.release([claim])
            return index, COMMITTED
        try:
            return index, load_views(path, self.sample_rate, mono_views=self.mono_views)
        except AudioError as err:
            self.claims.release([claim])  # nothing to commit: another run may try it again at once
            return index, err.problem


def _batches(
    loader: DataLoader[tuple[int, torch.Tensor | str]], batch_size: int
) -> Iterator[tuple[list[int], torch.Tensor | None, list[tuple[int, str]]]]:
    """Group decoded clips of equal shape into batches; pass failures (and claimed clips) through at once."""
    indices: list[int] = []
    views: list[torch.Tensor] = []
    for index, item in loader:
        if isinstance(item, str):
            yield [], None, [(index, item)]
            continue
        if views and (item.shape != views[0].shape or len(views) == batch_size):
            yield indices, torch.stack(views), []
            indices, views = [], []
        indices.append(index)
        views.append(item)
    if views:
        yield indices, torch.stack(views), []


def default_workers(device: str) -> int:
    """Decoding workers: none on a CPU (the cores compute the features), the cores on a GPU (decoding feeds it)."""
    if not device.startswith("cuda"):
        return 0
    return min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def extract(
    table: ClipTable,
    spec: FeatureSettings,
    cache_root: str | Path,
    *,
    mono_views: MonoViews = 1,
    dtype: str = "float32",
    workers: int | None = None,
    device: str = "cpu",
    shard: tuple[int, int] = (0, 1),
    batch_size: int | None = None,
    part_bytes: int = PART_BYTES,
    progress: bool = True,
    wait_seconds: float = 1.0,
) -> ExtractReport:
    """Compute ``spec`` for every clip of ``table`` (of this shard) that the cache lacks.

    Clips another process is computing are left to it and waited for (taken over if it dies), so
    processes sharing a cache never compute a clip twice. With nothing to compute, the cache is only
    read. ``workers`` and ``batch_size`` default to what the device needs (a GPU: decoding workers and
    32 clips a batch; a CPU: in-process decoding, 8 clips).
    """
    start = time.perf_counter()
    cache = FeatureCache(cache_root, spec, mono_views=mono_views, dtype=dtype)
    shard_index, shard_count = shard
    selected = list(range(shard_index, len(table), shard_count))
    pending = [i for i in selected if not cache.is_current(table.files[i], table.path(i))]
    report = ExtractReport(cache.path, spec.kind, selected=len(selected), cached_before=len(selected) - len(pending))
    if not pending:
        report.seconds = time.perf_counter() - start
        return report
    workers = default_workers(device) if workers is None else workers
    batch_size = batch_size or (32 if device.startswith("cuda") else 8)
    transform = build_transform(spec).to(device)
    bar = progress_bar(total=len(pending), unit="clip", desc=f"extract {cache.path.name}", enabled=progress)
    with cache.writer(part_bytes=part_bytes) as writer, bar, torch.inference_mode():
        while pending:
            waiting = []
            dataset = _DecodedClips(table, pending, spec.sample_rate, mono_views, cache)
            loader = DataLoader(dataset, batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None,
                                pin_memory=device.startswith("cuda"))
            for indices, views, failed in _batches(loader, batch_size):
                for index, problem in failed:
                    if problem in (CLAIMED, COMMITTED):
                        waiting.append(index)
                        continue
                    report.failures.append((table.files[index], problem))
                    bar.write(f"FAILED {table.path(index)}: {problem}")
                    bar.update(1)
                if views is not None:
                    spectrograms = transform(views.to(device, non_blocking=True)).float().cpu().numpy()
                    for index, clip in zip(indices, spectrograms):
                        writer.add(table.files[index], clip, source=source_stamp(table.path(index)))
                    report.extracted += len(indices)
                    bar.update(len(indices))
            writer.flush()
            # what other processes were computing: done once their parts are committed, else wait (or take over)
            cache.entries(refresh=True)
            pending = [i for i in waiting if not cache.is_current(table.files[i], table.path(i))]
            bar.update(len(waiting) - len(pending))
            if pending:
                time.sleep(wait_seconds)
    report.failures_file = cache.write_failures(report.failures, shard=shard)
    report.seconds = time.perf_counter() - start
    return report


def summarize(report: ExtractReport) -> str:
    """Lines for people: counts, rate, failures."""
    rate = report.extracted / report.seconds if report.seconds > 0 else float("nan")
    lines = [
        f"cache:     {report.cache}",
        f"clips:     {report.selected} selected, {report.cached_before} already cached, "
        f"{report.extracted} extracted ({rate:.2f} clips/s), {len(report.failures)} failed",
    ]
    if report.failures:
        lines.append(f"failures (also in {report.failures_file}):")
        lines += [f"  {name}: {problem}" for name, problem in report.failures]
    return "\n".join(lines)


def ensure_features(
    config: ExperimentConfig, table: ClipTable, cache_root: Path, *, workers: int | None = None, progress: bool = True
) -> list[FeatureCache]:
    """:func:`extract_missing`, then the caches pinned to ``table``'s clips (:func:`feature_caches`)."""
    extract_missing(config, table, cache_root, workers=workers, progress=progress)
    return feature_caches(config, cache_root, table)


def extract_missing(
    config: ExperimentConfig, table: ClipTable, cache_root: Path, *, workers: int | None = None, progress: bool = True
) -> None:
    """Extract whatever the cache lacks for ``table`` (on the GPU when the run trains on one); a clip that
    fails stops the run with all failures listed."""
    on_cuda = torch.cuda.is_available() and config.train.accelerator in ("auto", "gpu", "cuda")
    for spec in config.input.features:
        report = extract(table, spec, cache_root, mono_views=config.input.mono_views, dtype=config.input.cache_dtype,
                         workers=workers, device="cuda" if on_cuda else "cpu", progress=progress)
        if report.failures:
            lines = "\n".join(f"  {table.audio_root / n}: {p}" for n, p in report.failures)
            raise DatasetError(f"{len(report.failures)} clips could not be featurised:\n{lines}")


def feature_caches(config: ExperimentConfig, cache_root: Path, table: ClipTable) -> list[FeatureCache]:
    """The caches of an experiment's features, each pinned to ``table``'s clips as their files are now
    (opening one reads, never writes; a clip not cached from its current file is an error that names it)."""
    sources = {name: table.path(index) for index, name in enumerate(table.files)}
    caches = [FeatureCache(cache_root, spec, mono_views=config.input.mono_views, dtype=config.input.cache_dtype)
              for spec in config.input.features]
    for cache in caches:
        cache.pin(sources)
    return caches
