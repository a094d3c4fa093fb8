"""The real sample bundled with the package: all 400 clips of ESC-10 (Piczak 2015, CC BY 3.0),
re-encoded at 44.1 kHz, Ogg Vorbis (``scripts/make_sample.py``), with their official folds.

It lets the main job run on a fresh machine with no download; ``sample_data/esc10/LICENSE``
holds the per-clip attribution.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from stasc.data import ClipTable, read_csv

# Piczak 2015 (the dataset paper and "Environmental sound classification with convolutional neural
# networks"), 5-fold cross-validation on these official folds, and the human listeners of the paper
PUBLISHED_ESC10 = {
    "MFCC + ZCR statistics, k-NN (Piczak 2015)": 0.667,
    "MFCC + ZCR statistics, random forest (Piczak 2015)": 0.727,
    "MFCC + ZCR statistics, linear SVM (Piczak 2015)": 0.675,
    "CNN on log-mel (Piczak 2015, MLSP)": 0.802,
    "human listeners (Piczak 2015)": 0.957,
}


def sample_dir() -> Path:
    """Folder of the bundled sample (``labels.csv``, ``audio/``, ``LICENSE``)."""
    return Path(str(resources.files("stasc") / "sample_data" / "esc10"))


def sample_table() -> ClipTable:
    """The bundled sample as a clip table: official folds 1–5, grouped by source recording."""
    return read_csv(sample_dir() / "labels.csv")
