import platform
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stasc.allocator import return_large_buffers_to_the_system


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_on_glibc_large_buffers_go_back_to_the_system_once_freed() -> None:
    # the long-recording memory test (tests/cli/test_predict_explain.py) holds the effect; this, the setting
    assert return_large_buffers_to_the_system() is True
    assert return_large_buffers_to_the_system() is True  # once per process, then cached


@pytest.fixture
def setting_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What `stasc predict` asks of the allocator (the real setting is process-wide and cannot be undone)."""
    import stasc.cli.predict

    calls: list[str] = []
    monkeypatch.setattr(stasc.cli.predict, "return_large_buffers_to_the_system", lambda: calls.append("set") or True)
    return calls


def test_commands_other_than_predict_keep_the_default_allocator(tmp_path: Path, shared_data: Path,
                                                                setting_calls: list[str]) -> None:
    # it halves training speed (benchmarks/throughput.py --allocator mmap-1MiB): no command but predict makes it
    import stasc.cli

    assert stasc.cli.main(["folds", "--data", str(shared_data / "esc10" / "labels.csv"),
                           "--out", str(tmp_path / "folds.csv")]) == 0
    assert setting_calls == []
    assert "return_large_buffers_to_the_system" not in vars(stasc.cli)


def test_predict_sets_it_only_for_a_recording_longer_than_the_limit(
        trained_sample_run: Path, tmp_path: Path, shared_data: Path, setting_calls: list[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import stasc.cli.predict
    from stasc.cli import main

    clip = shared_data / "fsdd" / "recordings" / "0_george_0.wav"
    assert main(["predict", "--model", str(trained_sample_run), str(clip), "--out", str(tmp_path / "a.csv"),
                 "--no-progress"]) == 0
    assert setting_calls == []  # short files: glibc's faster default
    seconds = sf.info(str(clip)).duration
    monkeypatch.setattr(stasc.cli.predict, "LONG_RECORDING_SECONDS", seconds / 2)
    assert main(["predict", "--model", str(trained_sample_run), str(clip), "--out", str(tmp_path / "b.csv"),
                 "--no-progress"]) == 0
    assert setting_calls == ["set"]


def test_a_long_recording_is_told_from_its_header(tmp_path: Path) -> None:
    from stasc.cli.predict import LONG_RECORDING_SECONDS, has_long_recording

    rate = 1000  # 11 minutes of silence in 1.3 MB
    long = tmp_path / "long.wav"
    sf.write(long, np.zeros(int(rate * (LONG_RECORDING_SECONDS + 60)), dtype=np.int16), rate, subtype="PCM_16")
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(rate * 5, dtype=np.int16), rate, subtype="PCM_16")
    broken = tmp_path / "broken.wav"
    broken.write_text("not audio")
    assert has_long_recording([short, broken, long])
    assert not has_long_recording([short, broken])  # an unreadable file is prediction's to report, not this check's
