"""The real sample bundled with the package: 1,000 Free Spoken Digit recordings (CC BY-SA 4.0).

It lets the main job run on a fresh machine with no download; see ``sample_data/fsdd/README.md``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from stasc.data.datasets import ClipTable, read_csv
from stasc.features.spec import FeatureSpec

# 8 kHz speech clips of ~0.5 s: the paper's MFCC recipe scaled to the rate (32 ms windows, 8 ms hops)
SAMPLE_FEATURE = FeatureSpec(kind="mfcc", sample_rate=8000, n_fft=256, hop_length=64, n_mels=64, n_mfcc=64)


def sample_dir() -> Path:
    """Folder of the bundled sample (``labels.csv``, ``recordings/``, ``LICENSE``)."""
    return Path(str(resources.files("stasc") / "sample_data" / "fsdd"))


def sample_table() -> ClipTable:
    """The bundled sample as a clip table, grouped by speaker."""
    return read_csv(sample_dir() / "labels.csv", group_column="speaker")
