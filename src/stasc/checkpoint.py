"""The checkpoint format, written and read in one place.

A checkpoint is data: tensors and plain values, loaded with ``torch.load(weights_only=True)``, so
a file carrying any other pickled object (one whose unpickling would run code) is refused before
anything in it runs. It holds the network weights (``state_dict``, keys ``model.*``) and a
``stasc`` section: the format number, the resolved configuration, the class names, the
normalisation statistics and the versions of the libraries. Training checkpoints (Lightning's)
carry the same section (:func:`stasc_section`, added by the training module); :func:`save`
writes a bare one (``Predictor.save``).
"""

from __future__ import annotations

import pickle
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from stasc.atomic import replacing
from stasc.config import ConfigError, ExperimentConfig
from stasc.features.patches import Normalizer
from stasc.versions import versions

FORMAT = 2


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, unsafe, or lacks what prediction needs."""


def stasc_section(
    config: ExperimentConfig, classes: Sequence[str], normalizers: Sequence[Normalizer]
) -> dict[str, Any]:
    """What a checkpoint holds besides the weights (plain values only)."""
    return {
        "format": FORMAT,
        "config": config.to_dict(),
        "classes": list(classes),
        "normalizers": [n.to_dict() for n in normalizers],
        "versions": versions(),
    }


@dataclass(frozen=True)
class Checkpoint:
    """A read checkpoint: everything :class:`stasc.inference.Predictor` needs."""

    path: Path
    config: ExperimentConfig
    classes: tuple[str, ...]
    normalizers: tuple[Normalizer, ...]
    weights: dict[str, Tensor]  # the network's state dict (no ``model.`` prefix)
    versions: dict[str, str]


def save(path: str | Path, *, weights: Mapping[str, Tensor], section: dict[str, Any]) -> Path:
    """Write a checkpoint atomically (a uniquely named temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {f"model.{k}": v.detach().cpu() for k, v in weights.items()}
    with replacing(path) as tmp:
        torch.save({"state_dict": state, "stasc": section}, tmp)
    return path


def load_data(path: str | Path) -> dict[str, Any]:
    """The raw contents of a checkpoint file, loaded as data only (``weights_only=True``)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path}: a folder, not a checkpoint file")
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # weights_only refuses any global it does not know: the file would have run code to load
        refused = re.search(r"(?i)unsupported global[^\n]*", str(err))
        if refused is None:
            raise CheckpointError(f"{path}: not a readable checkpoint (not a PyTorch file, or damaged)") from None
        raise CheckpointError(
            f"{path}: refused: the file holds objects that would run code when loaded, not only tensors and plain "
            f"values ({refused.group(0).strip()}); load checkpoints only from people you trust"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: not a readable checkpoint ({type(err).__name__}: {err})") from None
    if not isinstance(raw, dict) or "state_dict" not in raw or not isinstance(raw.get("stasc"), dict):
        raise CheckpointError(f"{path}: not a stasc checkpoint (no 'stasc' section or no weights)")
    return raw


def read(path: str | Path) -> Checkpoint:
    """Read and check a checkpoint: its format, configuration, classes, normalisers and weights."""
    path = Path(path)
    raw = load_data(path)
    section = raw["stasc"]
    if section.get("format") != FORMAT:
        made = section.get("versions", {}).get("stasc", "an older stasc")
        raise CheckpointError(f"{path}: checkpoint format {section.get('format', 1)}, made by stasc {made}; this "
                              f"stasc reads format {FORMAT}: train the model again (or use that stasc version)")
    missing = [key for key in ("config", "classes", "normalizers") if key not in section]
    if missing:
        raise CheckpointError(f"{path}: checkpoint lacks {', '.join(missing)}")
    try:
        config = ExperimentConfig.parse(section["config"])
        normalizers = tuple(Normalizer.from_dict(n) for n in section["normalizers"])
    except (ConfigError, ValueError) as err:
        raise CheckpointError(f"{path}: {err}") from None
    classes = tuple(str(c) for c in section["classes"])
    if config.model.n_classes != len(classes):
        raise CheckpointError(
            f"{path}: the network has {config.model.n_classes} outputs but {len(classes)} class names"
        )
    weights = {k.removeprefix("model."): v for k, v in raw["state_dict"].items() if k.startswith("model.")}
    if not weights or not all(isinstance(v, Tensor) for v in weights.values()):
        raise CheckpointError(f"{path}: no network weights in the checkpoint")
    return Checkpoint(path, config, classes, normalizers, weights, dict(section.get("versions", {})))
