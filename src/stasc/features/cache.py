"""Extracted features on disk: memory-mapped parts plus an index, keyed by configuration and code.

Layout of one cache (``root/<feature>-<key>/``)::

    config.json              what the key hashes: feature spec, views, dtype, code revision
    parts/<id>.npy           a flat array holding the spectrograms of up to ~64 MB of clips
    parts/<id>.json          that part's index: clip file → offset, shape, source stamp (the commit marker)
    failures.csv             the clips the last run could not extract, with the reason
                             (failures-I-of-N.csv for shard I of N)

A part counts only once its ``.json`` exists; both files are written under a temporary name and
renamed, so a run killed at any moment leaves nothing corrupt, and the next run computes only
what no committed part holds. Shards (``--shard I/N``) write their own parts into the same cache.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import stasc
from stasc.features.spec import NAMED_FEATURES, FeatureSpec

# Bump when a change in the feature code changes the values it computes: old caches are then
# never reused (the package version is hashed too, so every release starts fresh).
FEATURE_CODE_REVISION = 1
CACHE_DTYPES = ("float32", "float16")
PART_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Entry:
    """Where one clip's spectrograms ``(views, rows, frames)`` lie in a part file."""

    part: str
    offset: int
    shape: tuple[int, int, int]
    source: str


def source_stamp(path: Path) -> str:
    """Size and modification time of a source file: a changed file gets a new stamp."""
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


def feature_label(spec: FeatureSpec) -> str:
    """The paper's name when the spec is one of them unchanged, else the kind."""
    return next((name for name, named in NAMED_FEATURES.items() if named == spec), spec.kind)


def cache_key(spec: FeatureSpec, *, mono_views: int, dtype: str) -> dict[str, object]:
    """Everything that decides the cached values."""
    return {
        "feature": spec.identity(),
        "mono_views": mono_views,
        "dtype": dtype,
        "feature_code_revision": FEATURE_CODE_REVISION,
        "stasc_version": stasc.__version__,
    }


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class FeatureCache:
    """One feature configuration's cache under ``root``."""

    def __init__(self, root: str | Path, spec: FeatureSpec, *, mono_views: int = 1, dtype: str = "float32") -> None:
        if dtype not in CACHE_DTYPES:
            raise ValueError(f"cache dtype must be one of {CACHE_DTYPES}, got {dtype!r}")
        self.spec = spec
        self.mono_views = mono_views
        self.dtype = dtype
        self.key = cache_key(spec, mono_views=mono_views, dtype=dtype)
        digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:12]
        self.path = Path(root) / f"{feature_label(spec)}-{digest}"
        self._entries: dict[str, Entry] | None = None
        self._maps: dict[str, np.ndarray] = {}

    @property
    def parts_dir(self) -> Path:
        return self.path / "parts"

    def failures_path(self, shard: tuple[int, int] = (0, 1)) -> Path:
        """``failures.csv``, or ``failures-I-of-N.csv`` for a shard (shards run side by side)."""
        index, count = shard
        return self.path / ("failures.csv" if count == 1 else f"failures-{index}-of-{count}.csv")

    def prepare(self) -> None:
        """Create the folders and write ``config.json`` (the same content from every shard)."""
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        _atomic_write_text(self.path / "config.json", json.dumps(self.key, indent=2, sort_keys=True))

    def entries(self, *, refresh: bool = False) -> dict[str, Entry]:
        """Every committed clip: file name → :class:`Entry` (read from the part indexes)."""
        if self._entries is None or refresh:
            entries: dict[str, Entry] = {}
            if self.parts_dir.is_dir():
                # oldest first, so a clip extracted again (its source changed) takes its newest part
                for index_path in sorted(self.parts_dir.glob("*.json"), key=lambda p: p.stat().st_mtime_ns):
                    part = index_path.stem
                    for name, item in json.loads(index_path.read_text()).items():
                        entries[name] = Entry(part, int(item["offset"]), tuple(item["shape"]), str(item["source"]))
            self._entries = entries
        return self._entries

    def is_current(self, name: str, source: Path) -> bool:
        """The clip is cached from the source file as it is now (a changed file is redone)."""
        entry = self.entries().get(name)
        return entry is not None and source.is_file() and source_stamp(source) == entry.source

    def __contains__(self, name: str) -> bool:
        return name in self.entries()

    def __len__(self) -> int:
        return len(self.entries())

    def load(self, name: str) -> np.ndarray:
        """One clip's spectrograms ``(views, rows, frames)`` as a read-only memory-mapped view."""
        entry = self.entries().get(name)
        if entry is None:
            raise KeyError(f"{name}: not in the feature cache {self.path}; run `stasc extract` first")
        if entry.part not in self._maps:
            self._maps[entry.part] = np.load(self.parts_dir / f"{entry.part}.npy", mmap_mode="r")
        size = int(np.prod(entry.shape))
        return self._maps[entry.part][entry.offset : entry.offset + size].reshape(entry.shape)

    def __getstate__(self) -> dict[str, object]:
        # memory maps are reopened in each DataLoader worker instead of being pickled
        state = self.__dict__.copy()
        state["_maps"] = {}
        return state

    def writer(self, *, part_bytes: int = PART_BYTES) -> PartWriter:
        self.prepare()
        return PartWriter(self, part_bytes=part_bytes)

    def write_failures(self, failures: list[tuple[str, str]], *, shard: tuple[int, int] = (0, 1)) -> Path:
        """Replace the failures file with this run's failures (removed when there are none)."""
        path = self.failures_path(shard)
        if not failures:
            path.unlink(missing_ok=True)
            return path
        tmp = path.with_name(f".{path.name}.tmp")
        with tmp.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["filename", "reason"])
            writer.writerows(failures)
        os.replace(tmp, path)
        return path


class PartWriter:
    """Buffers clips and commits them as one part once ``part_bytes`` are held (and on close)."""

    def __init__(self, cache: FeatureCache, *, part_bytes: int = PART_BYTES) -> None:
        if part_bytes < 1:
            raise ValueError(f"part_bytes must be positive, got {part_bytes}")
        self.cache = cache
        self.part_bytes = part_bytes
        self._arrays: list[np.ndarray] = []
        self._index: dict[str, dict[str, object]] = {}
        self._offset = 0

    def add(self, name: str, spectrograms: np.ndarray, *, source: str) -> None:
        """Queue one clip's ``(views, rows, frames)`` spectrograms."""
        if spectrograms.ndim != 3:
            raise ValueError(f"{name}: expected (views, rows, frames), got shape {spectrograms.shape}")
        array = np.ascontiguousarray(spectrograms, dtype=self.cache.dtype)
        self._arrays.append(array.reshape(-1))
        self._index[name] = {"offset": self._offset, "shape": list(array.shape), "source": source}
        self._offset += array.size
        if self._offset * array.itemsize >= self.part_bytes:
            self.flush()

    def flush(self) -> None:
        """Commit the queued clips: data file first, then its index (the commit marker)."""
        if not self._arrays:
            return
        part = uuid.uuid4().hex
        data_path = self.cache.parts_dir / f"{part}.npy"
        tmp = self.cache.parts_dir / f".{part}.npy.tmp"
        with tmp.open("wb") as handle:
            np.save(handle, np.concatenate(self._arrays))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, data_path)
        _atomic_write_text(self.cache.parts_dir / f"{part}.json", json.dumps(self._index))
        self._arrays, self._index, self._offset = [], {}, 0

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        # commit what was computed even when the run stops on an error or Ctrl-C
        self.flush()


def iter_spectrograms(cache: FeatureCache, names: list[str]) -> Iterator[np.ndarray]:
    """Each named clip's spectrograms in turn (memory-mapped, so a large set never sits in RAM)."""
    for name in names:
        yield cache.load(name)


def describe(cache: FeatureCache) -> dict[str, object]:
    """A summary for people: clips, views, shape, bytes on disk."""
    entries = cache.entries()
    shapes = {entry.shape for entry in entries.values()}
    size = sum(p.stat().st_size for p in cache.parts_dir.glob("*.npy")) if cache.parts_dir.is_dir() else 0
    return {
        "path": str(cache.path),
        "feature": dataclasses.asdict(cache.spec),
        "clips": len(entries),
        "shapes": sorted(shapes)[:5],
        "bytes": size,
    }
