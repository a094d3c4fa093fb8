"""`benchmarks/complexity.py`: the README's table of the presets' complexity is what the code counts now."""

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_complexity_table_is_the_benchmarks_table_line_for_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # a preset that changes its input or members without the README following fails here
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    lines, rows = importlib.import_module("complexity").table()
    readme = (ROOT / "README.md").read_text().splitlines()
    start = readme.index(lines[0])
    assert readme[start : start + len(lines)] == lines
    assert rows["envsound"]["input_size"] == [128, 128] and len(lines) == len(rows) + 2
