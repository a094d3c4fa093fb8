"""Patches cut on the fly from the cache: the index, the values, stacking, normalisation."""

from pathlib import Path

import numpy as np
import pytest
import torch

from stasc.data import open_dataset
from stasc.features.cache import FeatureCache
from stasc.features.extract import extract
from stasc.features.patches import Normalizer
from stasc.features.spec import FeatureSpec
from stasc.training.data import PatchDataset, PatchPlan, clip_probabilities, fit_normalizers

# the paper's CQT + MFCC-1024 pair on one 11.6 ms frame grid, made cheap by a lower rate
CQT = FeatureSpec.named("cqt", sample_rate=22050, hop_length=256, n_bins=84)
MFCC = FeatureSpec.named("mfcc1024", sample_rate=22050, hop_length=256, n_fft=512)


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory, tut_dir: Path):
    root = tmp_path_factory.mktemp("cache")
    table = open_dataset(tut_dir).subset(range(3))
    for spec in (CQT, MFCC):
        extract(table, spec, root, progress=False)
    return table, [FeatureCache(root, CQT), FeatureCache(root, MFCC)]


def test_patch_index_counts_every_patch_of_every_view(cached) -> None:
    table, caches = cached
    norms = fit_normalizers(caches[1:], table.files)
    dataset = PatchDataset(caches[1:], table.files, table.targets, norms, PatchPlan(128, 64, (128, 128)))
    frames = caches[1].entries()[table.files[0]].shape[-1]
    assert frames == 862
    assert len(dataset) == 3 * 3 * 13  # clips × views × the paper's 13 patches of 862 frames


def test_item_is_the_normalised_resized_window(cached) -> None:
    table, caches = cached
    norms = fit_normalizers(caches, table.files)
    dataset = PatchDataset(caches, table.files, table.targets, norms, PatchPlan(128, 64, (128, 128)))
    x, target, clip = dataset[20]
    assert x.shape == (2, 128, 128) and x.dtype == torch.float32  # CQT and MFCC stacked as channels
    clip_i, view, start = dataset.index[20]
    assert clip == clip_i and target == table.targets[clip_i]
    raw = np.asarray(caches[1].load(table.files[clip]))[view, :, start : start + 128]
    expected = (raw - norms[1].mean[0][:, None]) / norms[1].std[0][:, None]
    np.testing.assert_allclose(x[1].numpy(), expected, rtol=1e-5, atol=1e-5)  # MFCC: 128 rows, no resize


def test_normalisers_fit_on_the_files_given_only(cached) -> None:
    table, caches = cached
    one = fit_normalizers(caches[1:], table.files[:1])[0]
    clip = np.asarray(caches[1].load(table.files[0]))
    np.testing.assert_allclose(one.mean[0], clip.transpose(1, 0, 2).reshape(128, -1).mean(1), rtol=1e-4, atol=1e-3)
    other = fit_normalizers(caches[1:], table.files[1:2])[0]
    assert not np.allclose(one.mean, other.mean)


def test_missing_clip_is_a_clear_error(cached) -> None:
    table, caches = cached
    norms = [Normalizer(np.zeros((1, 128), np.float32), np.ones((1, 128), np.float32))]
    with pytest.raises(ValueError, match="not in the feature cache .* run `stasc extract`"):
        PatchDataset(caches[1:], ["audio/nope.wav"], [0], norms, PatchPlan())


def test_clip_probabilities_average_patches() -> None:
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]])
    clips = torch.tensor([0, 0, 1, 1])
    torch.testing.assert_close(clip_probabilities(probs, clips, 2), torch.tensor([[0.5, 0.5], [0.35, 0.65]]))


def test_clip_mean_normalisation_matches_between_training_and_prediction(cached) -> None:
    from stasc.audio import load
    from stasc.config import load_experiment
    from stasc.inference import Predictor
    from stasc.models import build_model

    table, caches = cached
    norms = fit_normalizers(caches[1:], table.files, clip_norm="mean")
    # the clip means are gone before fitting: the training-set mean of every coefficient is ~0
    np.testing.assert_allclose(norms[0].mean, 0, atol=1e-3)
    plan = PatchPlan(128, 64, (128, 128))
    dataset = PatchDataset(caches[1:], table.files, table.targets, norms, plan, clip_norm="mean")
    x, _, clip = dataset[0]
    _, view, start = dataset.index[0]
    spectrogram = np.asarray(caches[1].load(table.files[clip]))[view]
    expected = (spectrogram[:, start : start + 128] - spectrogram.mean(-1, keepdims=True) - norms[0].mean[0][:, None])
    np.testing.assert_allclose(x[0].numpy(), expected / norms[0].std[0][:, None], rtol=1e-4, atol=1e-4)

    config = load_experiment("mfcc", {"input": {"features": [{"name": "mfcc1024", "sample_rate": 22050,
                                                             "hop_length": 256, "n_fft": 512}],
                                                "patch_shift": 64, "clip_norm": "mean"},
                                      "model": {"width_multiplier": 0.0625}})
    predictor = Predictor(config, ["a"] * 10, norms, build_model(config.model))
    from stasc.audio import channel_views, resample

    audio = load(table.audio_root / table.files[clip])
    views = channel_views(torch.from_numpy(resample(audio.samples, audio.sample_rate, 22050)))
    inputs = predictor.inputs(views[None])[0]  # V'·P, C, H, W: the same clip as one prediction window
    assert inputs.shape[0] == len(dataset) // len(table.files)
    np.testing.assert_allclose(inputs[0, 0].numpy(), x[0].numpy(), rtol=1e-3, atol=1e-3)
