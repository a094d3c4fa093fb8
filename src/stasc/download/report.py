"""What a run of :func:`stasc.download.download_dataset` did, and its end-of-run summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from stasc.download.formatting import format_bytes, format_seconds
from stasc.download.registry import DatasetEntry


@dataclass
class FileOutcome:
    """What happened to one zip. ``status``: ``present`` (already extracted by an earlier run),
    ``downloaded`` (fetched and extracted now), ``extracted`` (a verified zip was here; extracted now)
    or ``failed`` (see ``error``)."""

    name: str
    size_bytes: int
    status: str
    received_bytes: int = 0
    error: str = ""


@dataclass
class DownloadReport:
    """The result of :func:`stasc.download.download_dataset`."""

    dataset: DatasetEntry
    dataset_path: Path
    files: list[FileOutcome]
    seconds: float
    verified_clips: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)
    """Verification problems as ``(file, problem)``: missing or unreadable files of ``meta.csv``."""
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FileOutcome]:
        """The files that failed, in registry order."""
        return [f for f in self.files if f.status == "failed"]

    @property
    def ok(self) -> bool:
        """All files in place and nothing wrong with the ones ``meta.csv`` lists."""
        return not self.failed and not self.problems

    @property
    def received_bytes(self) -> int:
        """Bytes that came over the network in this run."""
        return sum(f.received_bytes for f in self.files)


def summarize(report: DownloadReport) -> str:
    """The end-of-run summary (several lines)."""
    counts = {s: sum(f.status == s for f in report.files) for s in ("downloaded", "extracted", "present", "failed")}
    received = report.received_bytes
    rate = f", {format_bytes(received / report.seconds)}/s" if received and report.seconds > 0 else ""
    total = sum(f.size_bytes for f in report.files)
    lines = [
        f"{report.dataset.id}: {report.dataset.title}",
        (f"  {len(report.files)} files, {format_bytes(total)}: {counts['downloaded']} downloaded "
         f"({format_bytes(received)} in {format_seconds(report.seconds)}{rate}), "
         f"{counts['extracted']} extracted from zips already here, {counts['present']} already in place, "
         f"{counts['failed']} failed"),
    ]
    lines += [f"  {note}" for note in report.notes]
    if report.problems:
        lines.append(f"  verification: {len(report.problems)} files missing or unreadable (listed above)")
    elif report.verified_clips:
        lines.append(f"  verified: all {report.verified_clips} clips listed in meta.csv are present and readable")
    if report.ok:
        lines.append(f"dataset: {report.dataset_path}")
    else:
        lines.append(f"incomplete: {len(report.failed)} files failed, {len(report.problems)} verification problems "
                     "(listed above); run the same command again to resume")
    return "\n".join(lines)
