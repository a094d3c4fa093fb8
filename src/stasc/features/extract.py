"""Fill a feature cache for a dataset: decode in worker processes, compute in batches, commit parts.

A clip that cannot be decoded is reported (and written to ``failures.csv``) while the rest go
on; a clip already in the cache is never computed again, so a killed run resumes where it
stopped. ``shard=(i, n)`` takes every n-th clip starting at i, so n machines fill one cache.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from stasc.audio import AudioError, MonoViews, load_views
from stasc.data.datasets import ClipTable
from stasc.features.cache import PART_BYTES, FeatureCache, source_stamp
from stasc.features.spec import FeatureSpec
from stasc.features.transforms import build_transform

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


class _DecodedClips(Dataset):
    """Decodes, resamples and splits into views in a worker; a bad file yields its error text."""

    def __init__(self, table: ClipTable, indices: list[int], sample_rate: int, mono_views: MonoViews) -> None:
        self.table = table
        self.indices = indices
        self.sample_rate = sample_rate
        self.mono_views = mono_views

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, item: int) -> tuple[int, torch.Tensor | str]:
        index = self.indices[item]
        try:
            return index, load_views(self.table.path(index), self.sample_rate, mono_views=self.mono_views)
        except AudioError as err:
            return index, err.problem


def _batches(
    loader: DataLoader, batch_size: int
) -> Iterator[tuple[list[int], torch.Tensor | None, list[tuple[int, str]]]]:
    """Group decoded clips of equal shape into batches; pass failures through at once."""
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


def extract(
    table: ClipTable,
    spec: FeatureSpec,
    cache_root: str | Path,
    *,
    mono_views: MonoViews = 1,
    dtype: str = "float32",
    workers: int = 0,
    device: str = "cpu",
    shard: tuple[int, int] = (0, 1),
    batch_size: int = 8,
    part_bytes: int = PART_BYTES,
    progress: bool = True,
) -> ExtractReport:
    """Compute ``spec`` for every clip of ``table`` (of this shard) that the cache lacks."""
    start = time.perf_counter()
    cache = FeatureCache(cache_root, spec, mono_views=mono_views, dtype=dtype)
    shard_index, shard_count = shard
    selected = list(range(shard_index, len(table), shard_count))
    pending = [i for i in selected if not cache.is_current(table.files[i], table.path(i))]
    report = ExtractReport(cache.path, spec.kind, selected=len(selected), cached_before=len(selected) - len(pending))
    transform = build_transform(spec).to(device)
    dataset = _DecodedClips(table, pending, spec.sample_rate, mono_views)
    loader = DataLoader(dataset, batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None)
    bar = tqdm(total=len(pending), unit="clip", desc=f"extract {cache.path.name}", disable=not progress)
    with cache.writer(part_bytes=part_bytes) as writer, bar, torch.inference_mode():
        for indices, views, failed in _batches(loader, batch_size):
            for index, problem in failed:
                name = table.files[index]
                report.failures.append((name, problem))
                bar.write(f"FAILED {table.path(index)}: {problem}")
            if views is not None:
                spectrograms = transform(views.to(device)).float().cpu().numpy()
                for index, clip in zip(indices, spectrograms):
                    writer.add(table.files[index], clip, source=source_stamp(table.path(index)))
                report.extracted += len(indices)
            bar.update(len(indices) + len(failed))
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


def clip_shapes(cache: FeatureCache, names: list[str]) -> np.ndarray:
    """``(clips, 3)`` array of the cached shapes (views, rows, frames)."""
    entries = cache.entries()
    return np.array([entries[name].shape for name in names], dtype=np.int64)
