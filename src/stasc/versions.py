"""Versions of stasc and the libraries that decide its numbers, recorded in checkpoints and reports."""

from __future__ import annotations

import platform

import numpy as np
import torch

import stasc


def versions() -> dict[str, str]:
    import lightning

    return {
        "stasc": stasc.__version__,
        "torch": str(torch.__version__),
        "lightning": str(lightning.__version__),
        "numpy": str(np.__version__),
        "python": platform.python_version(),
    }
