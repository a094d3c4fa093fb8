"""Extracted features on disk: memory-mapped parts plus an index, keyed by configuration and code.

Layout of one cache (``root/<feature>-<key>/``)::

    config.json              what the key hashes: feature spec, views, dtype, code revision
    parts/<id>.npy           a flat array holding the spectrograms of up to ~64 MB of clips
    parts/<id>.json          that part's index: clip file → offset, shape, source stamp (the commit marker)
    failures.csv             the clips the last run could not extract, with the reason
                             (failures-I-of-N.csv for shard I of N)
    claims/<hash>            a clip being computed right now, by which process (removed once committed)

Clips are named by their path under the data folder, and each cached copy carries the stamp (size,
modification time) of the file it came from: a changed file is extracted again, and two copies of one
dataset in one cache (an original and a re-encoded copy, say) keep their features side by side. A
reader pins each clip to its source as it is now (:meth:`FeatureCache.pin`), so it never reads the
features of another copy, however other processes fill the cache meanwhile.

A part counts only once its ``.json`` exists; both files are written under a temporary name and
renamed, so a run killed at any moment leaves nothing corrupt, and the next run computes only
what no committed part holds. Shards (``--shard I/N``), and processes that share a cache, write
their own parts into it; a process claims a clip before computing it, so no clip is computed twice
(a claim whose process is gone, or older than ``CLAIM_SECONDS``, is taken over). Opening a cache,
and reading a complete one, writes nothing (a read-only disk is fine). A full disk while
committing removes the part's temporary files, keeps every committed part and raises
:class:`stasc.disk.NotEnoughSpaceError`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import stasc
from stasc.atomic import replacing, write_text
from stasc.data.table import DatasetError
from stasc.disk import filled_up, is_no_space
from stasc.features.registry import FeatureSettings

# Bump when a change in the feature code changes the values it computes: old caches are then
# never reused (the package version is hashed too, so every release starts fresh).
FEATURE_CODE_REVISION = 2
CACHE_DTYPES = ("float32", "float16")
PART_BYTES = 64 * 2**20
# a claim on another machine (whose process cannot be checked) counts as abandoned after this long: far
# more than a part of any feature takes to compute
CLAIM_SECONDS = 30 * 60


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


def claim_name(name: str, source: str) -> str:
    """What a process claims while computing a clip: the clip as extracted from one state of its file
    (two copies of a dataset, whose clips share names, are computed side by side)."""
    return f"{name}\n{source}"


def cache_key(spec: FeatureSettings, *, mono_views: int, dtype: str) -> dict[str, object]:
    """Everything that decides the cached values (the feature code runs in full float32 on every
    device, and device-dependent choices such as the CQT's resampler are settings)."""
    return {
        "feature": spec.identity(),
        "mono_views": mono_views,
        "dtype": dtype,
        "feature_code_revision": FEATURE_CODE_REVISION,
        "stasc_version": stasc.__version__,
    }


class Claims:
    """Which process computes which clip, as one small file per clip (``O_EXCL``: one creator wins)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.owner = f"{socket.gethostname()} {os.getpid()}"

    def _path(self, name: str) -> Path:
        return self.folder / hashlib.sha1(name.encode()).hexdigest()

    def take(self, name: str) -> bool:
        """Claim ``name`` for this process; False when another live process holds it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        for _ in range(2):
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._abandoned(path):
                    return self._holder(path) == self.owner
                path.unlink(missing_ok=True)  # the holder is gone: take it over (one of us wins the create)
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(self.owner)
            return True
        return False

    def _holder(self, path: Path) -> str:
        try:
            return path.read_text()
        except OSError:
            return ""

    def _abandoned(self, path: Path) -> bool:
        holder = self._holder(path).split()
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return True
        if len(holder) == 2 and holder[0] == socket.gethostname():
            try:
                os.kill(int(holder[1]), 0)  # signal 0: only asks whether the process exists
            except ProcessLookupError:
                return True
            except (PermissionError, ValueError):
                pass
            return False
        return age > CLAIM_SECONDS

    def release(self, names: Iterable[str]) -> None:
        for name in names:
            path = self._path(name)
            if self._holder(path) == self.owner:
                path.unlink(missing_ok=True)


class FeatureCache:
    """One feature configuration's cache under ``root``."""

    def __init__(self, root: str | Path, spec: FeatureSettings, *, mono_views: int = 1, dtype: str = "float32") -> None:
        if dtype not in CACHE_DTYPES:
            raise ValueError(f"cache dtype must be one of {CACHE_DTYPES}, got {dtype!r}")
        self.spec = spec
        self.mono_views = mono_views
        self.dtype = dtype
        self.key = cache_key(spec, mono_views=mono_views, dtype=dtype)
        digest = hashlib.sha256(json.dumps(self.key, sort_keys=True).encode()).hexdigest()[:12]
        self.path = Path(root) / f"{spec.label}-{digest}"
        self._entries: dict[str, Entry] | None = None
        self._versions: dict[str, dict[str, Entry]] = {}  # clip → source stamp → its newest entry
        self._pinned: dict[str, str] = {}  # clip → the source stamp this reader reads
        self._parts_read: set[str] = set()
        self._maps: dict[str, np.ndarray] = {}

    @property
    def parts_dir(self) -> Path:
        return self.path / "parts"

    def failures_path(self, shard: tuple[int, int] = (0, 1)) -> Path:
        """``failures.csv``, or ``failures-I-of-N.csv`` for a shard (shards run side by side)."""
        index, count = shard
        return self.path / ("failures.csv" if count == 1 else f"failures-{index}-of-{count}.csv")

    @property
    def claims(self) -> Claims:
        return Claims(self.path / "claims")

    def prepare(self) -> None:
        """Create the folders and ``config.json`` (the same content from every shard) if they are not there."""
        self.parts_dir.mkdir(parents=True, exist_ok=True)
        config = self.path / "config.json"
        text = json.dumps(self.key, indent=2, sort_keys=True)
        if not config.is_file() or config.read_text() != text:
            write_text(config, text)

    def entries(self, *, refresh: bool = False) -> dict[str, Entry]:
        """Every committed clip: file name → :class:`Entry` (read from the part indexes), the newest
        extraction of each clip unless :meth:`pin` chose one. ``refresh`` reads the parts committed
        since the last call (by this or another process)."""
        if self._entries is None or refresh:
            entries = dict(self._entries or {})
            if self.parts_dir.is_dir():
                new = [p for p in self.parts_dir.glob("*.json") if p.stem not in self._parts_read]
                # oldest first, so a clip extracted again (its source changed) takes its newest part
                for index_path in sorted(new, key=lambda p: p.stat().st_mtime_ns):
                    part = index_path.stem
                    for name, item in json.loads(index_path.read_text()).items():
                        entry = Entry(part, int(item["offset"]), tuple(item["shape"]), str(item["source"]))
                        self._versions.setdefault(name, {})[entry.source] = entry
                        if self._pinned.get(name, entry.source) == entry.source:
                            entries[name] = entry
                    self._parts_read.add(part)
            self._entries = entries
        return self._entries

    def is_current(self, name: str, source: Path, *, refresh: bool = False) -> bool:
        """The clip is cached from the source file as it is now (a changed file is redone); ``refresh``
        looks at parts other processes committed meanwhile first."""
        self.entries(refresh=refresh)
        return source.is_file() and source_stamp(source) in self._versions.get(name, {})

    def pin(self, sources: Mapping[str, Path]) -> None:
        """Read each named clip as extracted from its source file as it is now (clip name → file).

        Without a pin a reader takes the newest extraction of a name, which may come from another copy
        of the dataset that shares this cache. A clip not cached from its current file is an error
        that names it (run ``stasc extract``, or let training extract it).
        """
        self.entries(refresh=True)
        stale = []
        for name, path in sources.items():
            try:
                entry = self._versions.get(name, {}).get(source_stamp(path))
            except OSError:  # gone or unreadable: not cached as it is now
                entry = None
            if entry is None:
                stale.append(str(path))
                continue
            self._pinned[name] = entry.source
            self.entries()[name] = entry
        if stale:
            raise DatasetError(f"{len(stale)} clips are not in the feature cache {self.path} as their files are now "
                           f"(e.g. {', '.join(stale[:3])}); run `stasc extract` for them first (a copy of the data "
                           "whose files have other sizes or modification times counts as other files)")

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
            if path.exists():
                path.unlink()
            return path
        with replacing(path) as tmp, tmp.open("w", newline="") as handle:  # a unique name: processes share caches
            writer = csv.writer(handle)
            writer.writerow(["filename", "reason"])
            writer.writerows(failures)
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
        """Commit the queued clips: data file first, then its index (the commit marker). A full disk
        removes this part's files, keeps every committed part and raises NotEnoughSpaceError."""
        if not self._arrays:
            return
        part = uuid.uuid4().hex
        data_path = self.cache.parts_dir / f"{part}.npy"
        tmp = self.cache.parts_dir / f".{part}.npy.tmp"
        index, data = self._index, np.concatenate(self._arrays)
        names = [claim_name(name, str(item["source"])) for name, item in index.items()]
        self._arrays, self._index, self._offset = [], {}, 0
        try:
            with tmp.open("wb") as handle:
                np.save(handle, data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, data_path)
            write_text(self.cache.parts_dir / f"{part}.json", json.dumps(index))
        except OSError as err:
            tmp.unlink(missing_ok=True)
            data_path.unlink(missing_ok=True)
            self.cache.claims.release(names)
            if is_no_space(err):
                raise filled_up(err, self.cache.parts_dir, data.nbytes,
                                f"committing {len(names)} computed clips to the feature cache; the part was "
                                "removed, every part committed before is kept") from None
            raise
        self.cache.claims.release(names)

    def __enter__(self) -> PartWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        # commit what was computed even when the run stops on an error or Ctrl-C, but not after the disk
        # filled up (the commit would fail again)
        if kind is None or not issubclass(kind, OSError):
            self.flush()
