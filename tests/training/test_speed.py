"""Projecting a training run: patches counted from file headers, and the measured training rate."""

from pathlib import Path

import pytest

from stasc.config import ExperimentConfig
from stasc.data import open_dataset, read_csv
from stasc.extraction import ensure_features
from stasc.features.frontend import FrontEnd
from stasc.models import ModelConfig
from stasc.training import precision, speed
from stasc.training.data import PatchDataset, fit_normalizers
from stasc.training.speed import clip_patches, training_patches_per_second

ESC_LOGMEL = {"kind": "logmel", "sample_rate": 22050, "n_fft": 1024, "hop_length": 512, "n_mels": 32}


def _training_set_size(config: ExperimentConfig, table, cache: Path) -> int:  # type: ignore[no-untyped-def]
    caches = ensure_features(config, table, cache, progress=False)
    front = FrontEnd(config.input, fit_normalizers(caches, table.files))
    return len(PatchDataset(caches, table.files, table.targets, front))


def test_patches_counted_from_headers_are_the_patches_training_cuts(tmp_path: Path, shared_data: Path,
                                                                    tut_dir: Path) -> None:
    # ESC-10 clips of 3.6 to 7.2 s (mono, 44.1 kHz, resampled to 22.05) and stereo TUT clips (three views each)
    esc = read_csv(shared_data / "esc10" / "labels.csv")
    position = {name: i for i, name in enumerate(esc.files)}
    odd = [position[f"audio/{n}.ogg"] for n in ("4-164661-B", "5-177957-A", "1-172649-F", "1-17808-B")]  # 3.6-7.2 s
    esc = esc.subset(sorted(set(odd) | set(range(3))))
    config = ExperimentConfig.parse({"input": {"features": [ESC_LOGMEL], "patch_width": 64, "patch_shift": 16,
                                               "patch_size": [32, 64]}})
    counted = clip_patches(config, [esc.audio_root / name for name in esc.files])
    assert counted == _training_set_size(config, esc, tmp_path / "cache")
    tut = open_dataset(tut_dir).subset(range(2))
    # 10 s: 431 frames, 23 patches 16 frames apart and one aligned to the end, for each of three views
    assert clip_patches(config, [tut.audio_root / name for name in tut.files]) == _training_set_size(
        config, tut, tmp_path / "cache") == 2 * 3 * 24


def test_training_rate_is_measured_on_the_network_in_the_precision_asked() -> None:
    tiny = ModelConfig(width_multiplier=0.0625, input_size=(32, 64))
    for kind in ("32-true", "bf16-mixed"):
        assert training_patches_per_second(tiny, kind, batch=8, seconds=0.1) > 0


def test_projection_is_epochs_times_patches_over_the_rate_of_the_precision_training_resolves(
        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[ModelConfig, str, int]] = []

    def rate(model: ModelConfig, resolved: str, *, batch: int, **_: object) -> float:
        asked.append((model, resolved, batch))
        return 50.0

    monkeypatch.setattr(speed, "training_patches_per_second", rate)
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: False)
    config = ExperimentConfig.parse({"model": {"width_multiplier": 0.0625}, "train": {"max_epochs": 40,
                                                                                       "batch_size": 16}})
    assert speed.projected_training_seconds(config, 1278) == 40 * 1278 / 50.0
    assert asked == [(config.model, "32-true", 16)]  # precision auto on a CPU without native bf16
    monkeypatch.setattr(precision, "cpu_has_native_bf16", lambda: True)
    speed.projected_training_seconds(config, 1278)
    assert asked[-1][1] == "bf16-mixed"
