import platform
import sys
from pathlib import Path

import pytest

from stasc.allocator import return_large_buffers_to_the_system


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_on_glibc_large_buffers_go_back_to_the_system_once_freed() -> None:
    # the long-recording memory test (tests/cli/test_predict_explain.py) holds the effect; this, the setting
    assert return_large_buffers_to_the_system() is True
    assert return_large_buffers_to_the_system() is True  # once per process, then cached


def test_the_stasc_command_makes_the_setting_before_its_work(tmp_path: Path, shared_data: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    import stasc.cli

    calls: list[str] = []
    monkeypatch.setattr(stasc.cli, "return_large_buffers_to_the_system", lambda: calls.append("set") or True)
    assert stasc.cli.main(["folds", "--data", str(shared_data / "esc10" / "labels.csv"),
                           "--out", str(tmp_path / "folds.csv")]) == 0
    assert calls == ["set"]
