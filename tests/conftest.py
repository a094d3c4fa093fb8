"""Shared fixtures: paths to the real audio in ../shared/data."""

from pathlib import Path

import pytest

from helpers import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        raise FileNotFoundError(f"real test data not found at {SHARED_DATA}; clone the project beside ../shared")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tut_dir(shared_data: Path) -> Path:
    return shared_data / "tut2018-scenes"


@pytest.fixture(scope="session")
def tut_clips(tut_dir: Path) -> list[Path]:
    return sorted((tut_dir / "audio").glob("*.wav"))


@pytest.fixture(scope="session")
def tau_meta_dir(shared_data: Path) -> Path:
    return shared_data / "tau2019-meta"


@pytest.fixture(scope="session")
def fsdd_dir(shared_data: Path) -> Path:
    return shared_data / "fsdd"


def write_bad_files(folder: Path, good_wav: Path) -> dict[str, str]:
    """Write one file of each kind of bad audio into ``folder``; returns name → kind."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.wav").write_bytes(b"")
    (folder / "not_audio.wav").write_text("this is a text file, not audio\n" * 20)
    data = good_wav.read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 3])
    corrupt = bytearray(data[:4096])
    corrupt[8:40] = b"\xff" * 32  # destroys the RIFF/WAVE and fmt headers
    (folder / "corrupt.wav").write_bytes(bytes(corrupt))
    noisy = np.zeros((8000, 2), dtype=np.float32)
    noisy[100, 0] = np.nan
    noisy[200, 1] = np.inf
    sf.write(folder / "nan.wav", noisy, 8000, subtype="FLOAT")
    return {
        "empty.wav": "empty",
        "not_audio.wav": "not a readable audio file",
        "truncated.wav": "truncated",
        "corrupt.wav": "not a readable audio file",
        "nan.wav": "NaN or Inf",
    }


@pytest.fixture()
def bad_files(tmp_path: Path, tut_clips: list[Path]) -> tuple[Path, dict[str, str]]:
    folder = tmp_path / "bad"
    return folder, write_bad_files(folder, tut_clips[0])


@pytest.fixture(scope="session")
def trained_sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cross-validated run of the `sample` preset (tiny width, 1 epoch, 2 speaker-grouped folds) on 150
    FSDD recordings, with STAP pooling (the preset's is the temporal mean) so that `explain` has attention maps
    to draw, and selection on a validation speaker so that the run has a validation history."""
    from helpers import FSDD, fsdd_subset
    from stasc.cli import main

    root = tmp_path_factory.mktemp("sample-run")
    data = fsdd_subset(root, 3)
    status = main(["cv", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample",
                   "--k", "2", "--out", str(root / "run"), "--cache", str(root / "cache"), "--no-progress",
                   "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625",
                   "--set", "model.pooling=stap", "--set", "train.selection=validation"])
    assert status == 0
    return root / "run"
