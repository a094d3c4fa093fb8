"""The dataset registry: data files listing each dataset's zips, read into typed entries.

The registry is data (``stasc/registry/``). ``datasets.csv`` names each dataset: ``id``, ``title``,
``files`` (its files CSV, relative to the index), ``folder`` (the top folder its zips extract into),
``homepage``, ``licence`` and ``citation``. The files CSV lists each zip as ``url,bytes,md5,part``
(``part`` groups the zips: ``audio``, ``meta``, ``doc`` for the DCASE sets). Adding a dataset is
adding a row and a files CSV, no code. ``bytes`` is also the most a download may take: a server
sending more is refused (see :func:`stasc.download.http.fetch`).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit


@dataclass(frozen=True)
class RemoteFile:
    """One zip of a dataset, as the registry lists it: where, how many bytes, which md5, which part."""

    url: str
    size_bytes: int
    md5: str
    part: str

    @property
    def name(self) -> str:
        """The file name of the URL: the name the zip gets on disk."""
        return PurePosixPath(urlsplit(self.url).path).name

    def url_at(self, mirror: str | None) -> str:
        """The URL to fetch: the registry's, or the same file name under ``mirror``."""
        return self.url if not mirror else f"{mirror.rstrip('/')}/{self.name}"


@dataclass(frozen=True)
class DatasetEntry:
    """A dataset of the registry: its zips and the folder they extract into."""

    id: str
    title: str
    folder: str
    files: tuple[RemoteFile, ...]
    homepage: str = ""
    licence: str = ""
    citation: str = ""

    @property
    def size_bytes(self) -> int:
        """Bytes of all its zips together."""
        return sum(f.size_bytes for f in self.files)

    @property
    def parts(self) -> tuple[str, ...]:
        """Part names in registry order."""
        return tuple(dict.fromkeys(f.part for f in self.files))

    def select(self, parts: Sequence[str] | None) -> tuple[RemoteFile, ...]:
        """The files of ``parts`` (all files for ``None``); an unknown part raises ``ValueError``."""
        if parts is None:
            return self.files
        unknown = sorted(set(parts) - set(self.parts))
        if unknown or not parts:
            raise ValueError(f"{self.id}: unknown parts {unknown or list(parts)}; the parts are {list(self.parts)}")
        return tuple(f for f in self.files if f.part in parts)


def default_registry() -> Path:
    """The index CSV shipped with the package."""
    return Path(str(resources.files("stasc") / "registry" / "datasets.csv"))


def _read_csv(path: Path, required: Sequence[str]) -> list[dict[str, str]]:
    """The rows of a registry CSV; ``ValueError`` naming the file if it is unreadable or lacks a column."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: missing columns {missing}; columns are {reader.fieldnames}")
            return list(reader)
    except OSError as err:
        raise ValueError(f"cannot read registry file {path}: {err}") from err


def _plain_name(value: str, path: Path, line: int, what: str) -> str:
    """``value`` if it names one file or folder (no path separators, not ``.``/``..``): what is
    written under the target folder must stay there."""
    if not value or value in (".", "..") or "/" in value or "\\" in value:
        raise ValueError(f"{path}, line {line}: {what} {value!r} is not a plain file or folder name")
    return value


def read_files_csv(path: str | Path) -> tuple[RemoteFile, ...]:
    """The zips of one dataset: a CSV with columns ``url,bytes,md5,part``."""
    path = Path(path)
    files = []
    for line, row in enumerate(_read_csv(path, ("url", "bytes", "md5", "part")), start=2):
        try:
            size = int(row["bytes"])
        except ValueError:
            size = -1
        if size <= 0:
            raise ValueError(f"{path}, line {line}: bytes {row['bytes']!r} is not a positive integer")
        md5 = row["md5"].strip().lower()
        if not re.fullmatch(r"[0-9a-f]{32}", md5):
            raise ValueError(f"{path}, line {line}: md5 {row['md5']!r} is not 32 hex digits")
        if not row["part"].strip():
            raise ValueError(f"{path}, line {line}: empty part")
        remote = RemoteFile(row["url"].strip(), size, md5, row["part"].strip())
        _plain_name(remote.name, path, line, "the URL's file name")
        files.append(remote)
    names = [f.name for f in files]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"{path}: file names listed twice: {dupes}")
    if not files:
        raise ValueError(f"{path}: lists no files")
    return tuple(files)


def load_registry(index: str | Path | None = None) -> dict[str, DatasetEntry]:
    """The datasets of a registry index CSV (default: the one shipped with stasc), by id."""
    index = Path(index) if index is not None else default_registry()
    entries: dict[str, DatasetEntry] = {}
    for line, row in enumerate(_read_csv(index, ("id", "title", "files", "folder")), start=2):
        if row["id"] in entries:
            raise ValueError(f"{index}, line {line}: dataset id {row['id']!r} listed twice")
        entries[row["id"]] = DatasetEntry(
            id=row["id"],
            title=row["title"],
            folder=_plain_name(row["folder"], index, line, "folder"),
            files=read_files_csv(index.parent / row["files"]),
            homepage=row.get("homepage") or "",
            licence=row.get("licence") or "",
            citation=row.get("citation") or "",
        )
    return entries
