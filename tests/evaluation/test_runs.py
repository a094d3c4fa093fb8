"""A run's protocol read back from its splits' results."""

import json
from pathlib import Path

from stasc.evaluation.protocol import Protocol
from stasc.evaluation.runs import run_protocol
from stasc.runs import RunDir


def _split(run: Path, name: str, protocol: dict[str, object] | None) -> None:
    (run / name).mkdir(parents=True)
    (run / name / "result.json").write_text(json.dumps({} if protocol is None else {"protocol": protocol}))


def test_splits_written_before_a_protocol_field_existed_read_as_its_default(tmp_path: Path) -> None:
    now = Protocol("validation", 0.125, "dataset", 40, "val_acc").to_dict()
    before = {k: v for k, v in now.items() if k != "validation_part"}  # a result.json from an older stasc
    _split(tmp_path, "fold-1", before)
    _split(tmp_path, "fold-2", now)
    assert run_protocol(RunDir(tmp_path)) == now


def test_splits_under_different_protocols_or_none_say_so(tmp_path: Path) -> None:
    _split(tmp_path / "a", "fold-1", Protocol("validation", 0.125, "dataset", 40, "val_acc").to_dict())
    _split(tmp_path / "a", "fold-2", Protocol("validation", 0.0, "dataset", 40, "val_acc", 1, "fold").to_dict())
    assert "different protocols" in run_protocol(RunDir(tmp_path / "a"))["description"]
    _split(tmp_path / "b", "fold-1", Protocol("last", 0.0, "dataset", 40, None).to_dict())
    _split(tmp_path / "b", "fold-2", None)
    assert "different protocols" in run_protocol(RunDir(tmp_path / "b"))["description"]


def test_a_whole_fold_validation_part_is_said_in_words() -> None:
    fold = Protocol("validation", 0.0, "dataset", 40, "val_acc", 1, "fold")
    assert "one whole fold of the training side" in fold.describe() and fold.to_dict()["validation_part"] == "fold"
    assert "0.125 of the training side's groups" in Protocol("validation", 0.125, "grouped", 40, "val_acc").describe()
