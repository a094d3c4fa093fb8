"""``to/stasc-download.json``: which zips are extracted, with the size of every file they hold, so
a run again skips what is intact and fetches only the zips whose files are missing or changed."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

from stasc.disk import filled_up, is_no_space
from stasc.download.files import write_atomically
from stasc.download.registry import RemoteFile

log = logging.getLogger(__name__)

STATE_FILE = "stasc-download.json"


class DownloadState:
    """The state file of one target folder; :meth:`mark` may be called from several threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._zips: dict[str, dict] = {}
        if path.is_file():
            try:
                self._zips = dict(json.loads(path.read_text(encoding="utf-8"))["zips"])
            except (ValueError, KeyError, TypeError) as err:
                log.warning("%s is unreadable (%s); zips will be extracted again", path, err)

    def extracted(self, remote: RemoteFile, to: Path) -> bool:
        """True if ``remote`` was extracted from a zip with the registry's md5 and all its files are intact."""
        entry = self._zips.get(remote.name)
        if not entry or entry.get("md5") != remote.md5:
            return False
        for name, size in entry["members"].items():
            try:
                intact = (to / name).stat().st_size == size
            except OSError:
                intact = False
            if not intact:
                log.warning("%s: extracted file %s is missing or changed; this zip is fetched again", remote.name, name)
                return False
        return True

    def mark(self, remote: RemoteFile, members: dict[str, int]) -> None:
        """Record that ``remote`` is extracted, holding ``members`` (``{relative path: size}``)."""
        with self._lock:
            self._zips[remote.name] = {"md5": remote.md5, "members": members}
            text = json.dumps({"version": 1, "zips": self._zips})
            try:
                write_atomically(self.path, text)
            except OSError as err:
                if is_no_space(err):
                    raise filled_up(err, self.path, len(text), "the disk filled up while writing the record of "
                                    f"extracted zips; {remote.name} will be extracted again") from err
                raise
