"""Makes ``fakes.py`` importable as ``download_fakes`` for the tests of this folder (pytest runs in
importlib mode, so test folders are not on ``sys.path``) and gives them the ``dataset`` fixture."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

if "download_fakes" not in sys.modules:  # tests/cli/test_download_cli.py may have loaded it first
    _spec = importlib.util.spec_from_file_location("download_fakes", Path(__file__).with_name("fakes.py"))
    assert _spec is not None and _spec.loader is not None
    sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules[_spec.name])

from download_fakes import FakeDataset, make_dataset


@pytest.fixture()
def dataset(tmp_path: Path) -> FakeDataset:
    """The four-zip fake dataset of :func:`download_fakes.make_dataset`."""
    return make_dataset(tmp_path)
