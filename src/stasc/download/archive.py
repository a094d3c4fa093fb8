"""Safe zip extraction: every member is checked before anything is written, and no member is ever
left half-written.

Refused before anything of the zip is written (:class:`DownloadError`, naming the members): a
member whose name is absolute or climbs out with ``..``, a symbolic link, or a compression ratio no
real dataset has (a zip bomb). Then the sizes the members declare are checked against the free
space under the target (:class:`NotEnoughSpaceError`). :mod:`zipfile` never writes more than a
member declares (it stops there and checks the CRC), so the declared sizes bound what is written.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

from stasc.disk import filled_up, is_no_space, require_space
from stasc.download.errors import DownloadError
from stasc.download.files import CHUNK_BYTES, PART_SUFFIX
from stasc.download.formatting import format_bytes

MAX_COMPRESSION_RATIO = 200
"""Declared size / compressed size above which a member, or the zip as a whole, is refused. WAV
audio barely compresses (about 1.1×), CSV and text 3–10×; only crafted data (a zip bomb) gets near
deflate's limit of about 1000×."""
RATIO_CHECKED_FROM_BYTES = 1 << 20
"""Members (and zips) declaring fewer bytes are not ratio-checked: a small file of repeated text can
compress 300× harmlessly, and the free-space check still counts it."""

_Member = tuple[zipfile.ZipInfo, list[str]]
"""A zip member and its path parts under the target folder (empty: the folder itself)."""


def _member_parts(name: str) -> list[str] | None:
    """The path parts of a zip member, or ``None`` if it would land outside the target folder."""
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")) or ".." in parts or (parts and parts[0].endswith(":")):
        return None
    return [p for p in parts if p not in ("", ".")]


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    """True for a member stored as a symbolic link (Unix mode ``S_IFLNK`` in ``external_attr``)."""
    return stat.S_ISLNK(info.external_attr >> 16)


def _ratio(declared: int, compressed: int) -> float:
    """Declared / compressed size; infinite for bytes declared from nothing stored."""
    return declared / compressed if compressed else float("inf")


def _checked_members(archive: zipfile.ZipFile, zip_path: Path, to: Path) -> list[_Member]:
    """The members of ``archive`` with their path parts, once all pass the checks of the module
    docstring; the first check failed raises :class:`DownloadError` listing every member it refuses."""
    infos = archive.infolist()
    refused = "refused to extract: members"
    nothing = "nothing of this zip was extracted"
    unsafe = [info.filename for info in infos if _member_parts(info.filename) is None]
    if unsafe:
        raise DownloadError(f"{zip_path.name}: {refused} {unsafe} would be written outside {to}; {nothing}")
    links = [info.filename for info in infos if _is_symlink(info)]
    if links:
        raise DownloadError(f"{zip_path.name}: {refused} {links} are symbolic links; {nothing}")
    files = [info for info in infos if not info.is_dir()]
    bombs = [f"{info.filename} ({info.file_size} bytes from {info.compress_size}: "
             f"{_ratio(info.file_size, info.compress_size):.0f}×)"
             for info in files
             if info.file_size >= RATIO_CHECKED_FROM_BYTES
             and _ratio(info.file_size, info.compress_size) > MAX_COMPRESSION_RATIO]
    if bombs:
        raise DownloadError(
            f"{zip_path.name}: {refused} {bombs} declare more than {MAX_COMPRESSION_RATIO}× their compressed "
            f"size (a zip bomb?); {nothing}"
        )
    declared = sum(info.file_size for info in files)
    compressed = sum(info.compress_size for info in files)
    if declared >= RATIO_CHECKED_FROM_BYTES and _ratio(declared, compressed) > MAX_COMPRESSION_RATIO:
        raise DownloadError(
            f"{zip_path.name}: refused to extract: its {len(files)} members declare {format_bytes(declared)} "
            f"from {format_bytes(compressed)} compressed ({_ratio(declared, compressed):.0f}×, more than "
            f"{MAX_COMPRESSION_RATIO}×; a zip bomb?); {nothing}"
        )
    return [(info, _member_parts(info.filename) or []) for info in infos]


def declared_bytes(zip_path: str | Path) -> int:
    """The bytes the members of ``zip_path`` declare: what extracting it writes (read from the zip's
    directory only, so quick for a zip of any size). Raises :class:`DownloadError` if it is not a zip."""
    zip_path = Path(zip_path)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            return sum(info.file_size for info in archive.infolist() if not info.is_dir())
    except (zipfile.BadZipFile, EOFError) as err:
        raise DownloadError(f"{zip_path.name}: not a valid zip ({err})") from err


def _bytes_to_write(members: list[_Member], to: Path) -> int:
    """Bytes extraction adds to the disk: each file's declared size, less that of the file it replaces."""
    needed = 0
    for info, parts in members:
        if info.is_dir() or not parts:
            continue
        target = to.joinpath(*parts)
        needed += max(0, info.file_size - (target.stat().st_size if target.is_file() else 0))
    return needed


def _extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, zip_path: Path) -> None:
    """Write one member to a temporary name beside ``target``, then rename it: ``target`` is never
    half-written, and the temporary file is removed on any error (CRC, full disk, Ctrl-C)."""
    # named after the zip too: two zips holding the same file may extract at once
    temporary = target.with_name(f"{target.name}.{zip_path.stem}{PART_SUFFIX}")
    try:
        with archive.open(info) as source, temporary.open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK_BYTES)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def extract_zip(zip_path: str | Path, to: str | Path) -> dict[str, int]:
    """Extract every member of ``zip_path`` under ``to``; returns ``{relative path: size}`` of the files.

    All members are checked first (see the module docstring), so a refused zip writes nothing.
    Raises :class:`DownloadError` for a refused or invalid zip (CRC errors included), and
    :class:`NotEnoughSpaceError` if its declared sizes exceed the free space or the disk fills up
    mid-write (the unfinished member is removed; members already extracted stay, complete).
    """
    zip_path, to = Path(zip_path), Path(to)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            members = _checked_members(archive, zip_path, to)
            left = _bytes_to_write(members, to)
            require_space(to, left, f"to extract {zip_path.name}, as its members declare; nothing of it was extracted")
            extracted: dict[str, int] = {}
            for info, parts in members:
                if not parts:
                    continue
                target = to.joinpath(*parts)
                try:
                    if info.is_dir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    _extract_member(archive, info, target, zip_path)
                except OSError as err:
                    if is_no_space(err):
                        raise filled_up(err, target, left, f"the disk filled up while extracting {zip_path.name}; "
                                        f"the unfinished {target.name} was removed") from err
                    raise
                left = max(0, left - info.file_size)
                extracted["/".join(parts)] = info.file_size
            return extracted
    except (zipfile.BadZipFile, EOFError) as err:
        raise DownloadError(f"{zip_path.name}: not a valid zip ({err})") from err
