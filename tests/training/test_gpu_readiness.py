"""What a GPU node needs that a CPU can show: the global batch, the device plumbing, the features'
cache key and precision."""

from pathlib import Path

import numpy as np
import pytest
import torch

from stasc.cli import main
from stasc.config import ConfigError, load_experiment
from stasc.features.cache import FeatureCache
from stasc.features.frontend import FrontEnd
from stasc.features.patches import Normalizer
from stasc.features.registry import parse_feature
from stasc.training.data import PatchDataset
from stasc.training.distributed import loader_workers, world_size
from stasc.training.fit import _loader


def loader_config(**train: object):
    return load_experiment("quick", {"train": train})


def test_the_configured_batch_is_the_global_one(tmp_path: Path) -> None:
    config = loader_config(batch_size=64, devices=4, strategy="ddp")
    assert world_size(config) == 4
    cache = FeatureCache(tmp_path, parse_feature("mfcc2048"))
    with cache.writer() as writer:
        writer.add("a.wav", np.zeros((1, 128, 200), np.float32), source="x")
    front = FrontEnd(config.input, [Normalizer(np.zeros(128), np.ones(128))])
    dataset = PatchDataset([cache], ["a.wav"], [0], front)
    assert _loader(dataset, config, train=True).batch_size == 16  # 64 over 4 processes: the same optimisation
    with pytest.raises(ValueError, match="batch_size 64 is the global batch and must divide among 3 processes"):
        _loader(dataset, loader_config(batch_size=64, devices=3, strategy="ddp"), train=True)


def test_workers_default_to_none_on_a_cpu_run() -> None:
    assert loader_workers(loader_config()) == 0 and loader_workers(loader_config(num_workers=3)) == 3


def test_ddp_spawn_is_refused_with_what_to_use_instead() -> None:
    with pytest.raises(ConfigError, match="ddp_spawn.*use 'ddp'"):
        loader_config(strategy="ddp_spawn")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
@pytest.mark.parametrize("command", [
    ["predict", "--model", "MODEL", "CLIP", "--device", "cuda"],
    ["explain", "--model", "MODEL", "CLIP", "--out", "x.png", "--device", "cuda:0"],
])
def test_a_gpu_that_is_not_there_is_one_clear_line(command: list[str], trained_sample_run: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from helpers import FSDD

    args = [str(trained_sample_run) if a == "MODEL" else str(FSDD / "recordings" / "1_theo_1.wav") if a == "CLIP"
            else str(tmp_path / a) if a.endswith(".png") else a for a in command]
    assert main(args) == 2
    assert "this machine has no CUDA device" in capsys.readouterr().err


def test_device_dependent_feature_choices_are_settings_and_key_the_cache(tmp_path: Path) -> None:
    soxr_cqt = parse_feature("cqt")
    sinc_cqt = parse_feature({"name": "cqt", "resampler": "sinc"})
    assert soxr_cqt.resampler == "soxr"  # librosa's resampler on every device: CPU and GPU caches agree
    assert FeatureCache(tmp_path, soxr_cqt).path != FeatureCache(tmp_path, sinc_cqt).path
    assert FeatureCache(tmp_path, soxr_cqt).key["feature"]["resampler"] == "soxr"
