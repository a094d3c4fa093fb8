"""A new feature kind is one module plus its test: defined and registered here, with no edit to stasc.

The kind (a linear-frequency log power spectrogram) is registered once, when this module is imported,
under a name no built-in kind uses, so the other tests see the registry as they expect.
"""

from pathlib import Path
from typing import ClassVar, Literal

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch
import yaml
from pydantic import PositiveInt, model_validator
from torch import Tensor

from stasc.config import ConfigError, ExperimentConfig, load_yaml
from stasc.data import ClipTable
from stasc.extraction import extract
from stasc.features import build_transform, compute, feature_kinds, parse_feature
from stasc.features import functional as F
from stasc.features.cache import FeatureCache
from stasc.features.frontend import FrontEnd
from stasc.features.patches import Normalizer
from stasc.features.registry import FeatureSettings, FeatureTransform, register_feature

KIND = "test_linear_spectrogram"


class LinearSpectrogramSettings(FeatureSettings):
    """``power_to_db(|STFT|², ref=1, top_db)``: ``n_fft // 2 + 1`` linearly spaced bins."""

    kind: Literal["test_linear_spectrogram"] = "test_linear_spectrogram"
    sample_rate: PositiveInt = 8000
    n_fft: PositiveInt = 256
    hop_length: PositiveInt = 64

    @model_validator(mode="after")
    def _check_hop(self) -> "LinearSpectrogramSettings":
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length ({self.hop_length}) larger than n_fft ({self.n_fft})")
        return self

    @property
    def n_rows(self) -> int:
        return self.n_fft // 2 + 1

    @property
    def min_samples(self) -> int:
        return self.n_fft


class LinearSpectrogram(FeatureTransform):
    settings_class: ClassVar[type[FeatureSettings]] = LinearSpectrogramSettings

    def signals(self, signals: Tensor) -> Tensor:
        settings = self.settings
        assert isinstance(settings, LinearSpectrogramSettings)
        power = F.stft_power(signals, n_fft=settings.n_fft, hop_length=settings.hop_length)  # N, bins, T
        return F.power_to_db(power, top_db=settings.top_db).unsqueeze(1)

    def gain_response(self) -> Tensor:
        return torch.ones(self.settings.n_rows)


register_feature(LinearSpectrogram)

ENTRY = {"kind": KIND, "sample_rate": 8000, "n_fft": 128, "hop_length": 64}
SMALL_MODEL = {"input_size": [65, 32], "width_multiplier": 0.0625, "pooling": "mean", "head": "linear",
               "blocks": [{"convs": [{"out_channels": 16}]}, {"convs": [{"out_channels": 16}]}]}


def test_the_registry_parses_it_like_a_built_in_kind() -> None:
    assert feature_kinds()[KIND].transform is LinearSpectrogram
    settings = parse_feature(ENTRY)
    assert isinstance(settings, LinearSpectrogramSettings) and settings.n_rows == 65 and settings.label == KIND
    assert parse_feature(KIND) == LinearSpectrogramSettings()  # by kind alone: its defaults
    assert parse_feature(settings.to_dict()) == settings
    with pytest.raises(ConfigError, match=r"hop_length \(256\) larger than n_fft \(128\)"):
        parse_feature({**ENTRY, "hop_length": 256})
    with pytest.raises(ConfigError, match=r"unknown config key n_mels; known keys: .*n_fft"):
        parse_feature({**ENTRY, "n_mels": 40})


def test_build_transform_and_compute_run_it(fsdd_dir: Path) -> None:
    settings = parse_feature(ENTRY)
    transform = build_transform(settings)
    assert isinstance(transform, LinearSpectrogram)
    views = torch.randn(2, 3, 4000, dtype=torch.float64)
    out = transform(views)
    assert out.shape == (2, 3, 65, settings.frames(4000))
    # what it promises, on real speech: librosa's dB power spectrogram (float64: FFT rounding only)
    y, rate = sf.read(fsdd_dir / "recordings" / "3_theo_7.wav", dtype="float64")
    spectrum = librosa.stft(y, n_fft=128, hop_length=64, win_length=None, window="hann", center=True,
                            pad_mode="constant")
    ref = librosa.power_to_db(np.abs(spectrum) ** 2, ref=1.0, amin=1e-10, top_db=80.0)
    ours = compute(settings, y, rate, dtype=torch.float64)
    assert ours.shape == (1, *ref.shape)
    np.testing.assert_allclose(ours[0].numpy(), ref, rtol=0, atol=1e-9)


def test_the_cache_keys_and_extraction_take_it(fsdd_dir: Path, tmp_path: Path) -> None:
    settings = parse_feature(ENTRY)
    cache = FeatureCache(tmp_path, settings)
    assert cache.path.name.startswith(f"{KIND}-") and cache.key["feature"] == settings.to_dict()
    assert FeatureCache(tmp_path, settings.replaced(n_fft=256)).path != cache.path
    files = ("0_jackson_0.wav", "1_nicolas_1.wav", "2_theo_2.wav")
    table = ClipTable(fsdd_dir / "recordings", files, ("0", "1", "2"), ("jackson", "nicolas", "theo"))
    report = extract(table, settings, tmp_path, progress=False)
    assert (report.extracted, report.failures) == (3, [])
    for name in files:
        stored = cache.load(name)
        assert stored.shape[:2] == (1, 65)
        samples, rate = sf.read(fsdd_dir / "recordings" / name, dtype="float32")
        np.testing.assert_array_equal(stored, compute(settings, samples, rate))  # the same float32 numbers


def test_an_experiment_config_takes_it_and_round_trips() -> None:
    config = ExperimentConfig.parse({"input": {"features": [ENTRY], "patch_width": 32, "patch_shift": 8,
                                               "patch_size": [65, 32]}, "model": SMALL_MODEL})
    assert isinstance(config.input.features[0], LinearSpectrogramSettings)
    text = yaml.safe_dump(config.to_dict(), sort_keys=False)
    assert f"kind: {KIND}" in text
    assert ExperimentConfig.parse(load_yaml(text, source="round trip")) == config
    # and the front end builds the network input from it
    normalizer = Normalizer(np.zeros(65), np.ones(65))
    x = FrontEnd(config.input, [normalizer])(torch.randn(1, 1, 8000))
    assert x.shape == (1, 13, 1, 65, 32)  # 126 frames: starts 0, 8 … 88 and the end-aligned 94
