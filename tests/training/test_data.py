"""Patches cut on the fly from the cache: the index, the values, stacking, normalisation, padding."""

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import SHARED_DATA
from stasc.config import ExperimentConfig
from stasc.data import ClipTable, open_dataset
from stasc.extraction import extract
from stasc.features.cache import FeatureCache
from stasc.features.frontend import FrontEnd
from stasc.features.patches import Normalizer
from stasc.features.registry import parse_feature
from stasc.inference import Predictor
from stasc.models import build_model
from stasc.training.data import PatchDataset, clip_probabilities, fit_normalizers

# the paper's CQT + MFCC-1024 pair on one 11.6 ms frame grid, made cheap by a lower rate
CQT = parse_feature({"name": "cqt", "sample_rate": 22050, "hop_length": 256, "n_bins": 84})
MFCC = parse_feature({"name": "mfcc1024", "sample_rate": 22050, "hop_length": 256, "n_fft": 512})


def experiment(features: list, clip_norm: str = "none") -> ExperimentConfig:
    return ExperimentConfig.parse({
        "input": {"features": features, "patch_shift": 64, "clip_norm": clip_norm},
        "model": {"in_channels": len(features), "width_multiplier": 0.0625},
    })


@pytest.fixture(scope="module")
def cached(tmp_path_factory: pytest.TempPathFactory, tut_dir: Path):
    root = tmp_path_factory.mktemp("cache")
    table = open_dataset(tut_dir).subset(range(3))
    for spec in (CQT, MFCC):
        extract(table, spec, root, progress=False)
    return table, [FeatureCache(root, CQT), FeatureCache(root, MFCC)]


def test_patch_index_counts_every_patch_of_every_view(cached) -> None:
    table, caches = cached
    config = experiment([MFCC])
    dataset = PatchDataset(caches[1:], table.files, table.targets,
                           FrontEnd(config.input, fit_normalizers(caches[1:], table.files)))
    assert caches[1].entries()[table.files[0]].shape[-1] == 862
    assert len(dataset) == 3 * 3 * 13  # clips × views × the paper's 13 patches of 862 frames
    assert dataset.short_clips == 0


def test_item_is_the_normalised_resized_window_stacked(cached) -> None:
    table, caches = cached
    norms = fit_normalizers(caches, table.files)
    dataset = PatchDataset(caches, table.files, table.targets, FrontEnd(experiment([CQT, MFCC]).input, norms))
    x, target, clip, weight = dataset[20]
    assert x.shape == (2, 128, 128) and x.dtype == torch.float32  # CQT and MFCC stacked as channels
    clip_i, view, start = dataset.index[20]
    assert clip == clip_i and target == table.targets[clip_i] and weight == 1.0  # equal patch weights by default
    raw = np.asarray(caches[1].load(table.files[clip]))[view, :, start : start + 128]
    expected = (raw - norms[1].mean[:, None]) / norms[1].std[:, None]
    np.testing.assert_allclose(x[1].numpy(), expected, rtol=1e-5, atol=1e-5)  # MFCC: 128 rows, no resize
    cqt = (np.asarray(caches[0].load(table.files[clip]))[view, :, start : start + 128] - norms[0].mean[:, None])
    resized = torch.nn.functional.interpolate(torch.from_numpy(cqt / norms[0].std[:, None])[None, None].float(),
                                              size=(128, 128), mode="bilinear", align_corners=False)[0, 0]
    np.testing.assert_allclose(x[0].numpy(), resized.numpy(), rtol=1e-5, atol=1e-5)  # CQT: 84 rows → 128


def test_normalisers_fit_on_the_files_given_only(cached) -> None:
    table, caches = cached
    one = fit_normalizers(caches[1:], table.files[:1])[0]
    clip = np.asarray(caches[1].load(table.files[0]), dtype=np.float64)
    np.testing.assert_allclose(one.mean, clip.transpose(1, 0, 2).reshape(128, -1).mean(1), rtol=1e-5, atol=1e-4)
    other = fit_normalizers(caches[1:], table.files[1:2])[0]
    assert np.abs(one.mean - other.mean).max() > 1.0  # two clips of other scenes differ by whole dB


def test_missing_clip_is_a_clear_error(cached) -> None:
    _, caches = cached
    front = FrontEnd(experiment([MFCC]).input, [Normalizer(np.zeros(128), np.ones(128))])
    with pytest.raises(ValueError, match=r"not in the feature cache .* run `stasc extract`"):
        PatchDataset(caches[1:], ["audio/nope.wav"], [0], front)


def test_a_clip_shorter_than_a_patch_is_padded_and_counted(tmp_path: Path, tut_clips: list[Path]) -> None:
    import soundfile as sf

    samples, rate = sf.read(tut_clips[0])
    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "short.wav", samples[: rate // 2], rate)  # 0.5 s: 44 frames of hop 256
    sf.write(tmp_path / "audio" / "long.wav", samples, rate)
    (tmp_path / "meta.csv").write_text("filename,label\naudio/short.wav,a\naudio/long.wav,b\n")
    table = open_dataset(tmp_path / "meta.csv")
    extract(table, MFCC, tmp_path / "cache", progress=False)
    caches = [FeatureCache(tmp_path / "cache", MFCC)]
    normalizers = fit_normalizers(caches, table.files)
    dataset = PatchDataset(caches, table.files, table.targets, FrontEnd(experiment([MFCC]).input, normalizers))
    assert dataset.short_clips == 1
    x, _, clip, _ = dataset[0]
    assert clip == 0 and x.shape == (1, 128, 128)
    frames = caches[0].entries()["audio/short.wav"].shape[-1]
    assert frames < 128 and torch.all(x[0, :, frames:] == 0)  # padded after normalisation: the mean
    # input.short_clip_pad: repeat fills the patch with the clip itself, from its first frame again
    repeat = experiment([MFCC]).input.model_copy(update={"short_clip_pad": "repeat"})
    repeated = PatchDataset(caches, table.files, table.targets, FrontEnd(repeat, normalizers))
    y = repeated[0][0]
    assert repeated.short_clips == 1 and torch.equal(y[0, :, :frames], x[0, :, :frames])
    assert torch.equal(y[0, :, frames : 2 * frames], x[0, :, :frames])
    assert torch.equal(y[0, :, 2 * frames :], x[0, :, : 128 - 2 * frames])


def test_clip_probabilities_average_patches() -> None:
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]])
    clips = torch.tensor([0, 0, 1, 1])
    torch.testing.assert_close(clip_probabilities(probs, clips, 2), torch.tensor([[0.5, 0.5], [0.35, 0.65]]))


@pytest.mark.parametrize("clip_norm", ["none", "mean", "meanstd"])
def test_training_patches_equal_the_predictors_inputs_for_a_whole_clip(cached, clip_norm: str) -> None:
    table, caches = cached
    norms = fit_normalizers(caches[1:], table.files, clip_norm=clip_norm)
    if clip_norm == "mean":  # the clip means are gone before fitting: the training-set mean of every row is ~0
        np.testing.assert_allclose(norms[0].mean, 0, atol=1e-3)
    config = experiment([MFCC], clip_norm)
    dataset = PatchDataset(caches[1:], table.files, table.targets, FrontEnd(config.input, norms))
    predictor = Predictor(config, [str(c) for c in range(10)], norms, build_model(config.model))
    from stasc.audio import load_views

    views = load_views(table.path(1), 22050)
    inputs = predictor.front_end(views[None])[0]  # V'·P, C, H, W: the same clip as one prediction window
    items = [i for i, (clip, _, _) in enumerate(dataset.index) if clip == 1]
    assert inputs.shape[0] == len(items)
    for k, item in enumerate(items):
        # the cache holds the same float32 spectrogram; the prediction path recomputes it
        np.testing.assert_allclose(inputs[k, 0].numpy(), dataset[item][0][0].numpy(), rtol=1e-4, atol=1e-4)


def test_clip_probabilities_weigh_patches_and_fall_back_to_the_mean() -> None:
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [0.2, 0.8]])
    clips = torch.tensor([0, 0, 1, 1])
    weighted = clip_probabilities(probs, clips, 2, torch.tensor([0.75, 0.25, 0.0, 0.0]))
    # clip 0 by its weights; clip 1's patches are all silent: the plain mean
    torch.testing.assert_close(weighted, torch.tensor([[0.75, 0.25], [0.35, 0.65]]))


class LevelAndContrast(torch.nn.Module):
    """Logits ``(B, 3)`` from a patch's mean and standard deviation: a stand-in network whose patches differ."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 5.0 * torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3)), torch.zeros(len(x))], dim=-1)


# a real ESC-10 recording of a dog: one bark at 2.2-2.6 s in digital silence (91 % of its 5 s), as ESC pads sources
DOG = SHARED_DATA / "esc10" / "audio" / "1-100032-A.ogg"
SMALL_LOGMEL = parse_feature({"kind": "logmel", "sample_rate": 22050, "n_fft": 1024, "hop_length": 512, "n_mels": 32})


def test_sound_weights_score_the_clip_the_same_in_cross_validation_and_prediction(tmp_path: Path) -> None:
    (tmp_path / "meta.csv").write_text(f"filename,label\n{DOG},dog\n")
    table = open_dataset(tmp_path / "meta.csv")
    extract(table, SMALL_LOGMEL, tmp_path / "cache", progress=False)
    caches = [FeatureCache(tmp_path / "cache", SMALL_LOGMEL)]
    config = ExperimentConfig.parse({
        "input": {"features": [SMALL_LOGMEL], "patch_width": 32, "patch_shift": 16, "patch_size": [32, 32]},
        "model": {"input_size": [32, 32], "width_multiplier": 0.0625, "n_classes": 3, "pooling": "mean",
                  "head": "linear", "patch_weights": "sound"}})
    norms = fit_normalizers(caches, table.files)
    front = FrontEnd(config.input, norms)
    weighed = PatchDataset(caches, table.files, [0], front, patch_weights="sound")
    equal = PatchDataset(caches, table.files, [0], front)
    assert np.all(equal.weights == 1.0) and weighed.weights.shape == equal.weights.shape == (len(equal),)
    # the patches over the bark vote by their share of it; those of silence alone (the first and last) do not
    assert weighed.weights.max() >= 0.5 and weighed.weights[0] == weighed.weights[-1] == 0.0
    assert weighed[len(weighed) - 1][3] == 0.0 and equal[len(equal) - 1][3] == 1.0
    # an untrained DCNN hears every patch alike; this one's classes follow the patch's level and contrast
    network = LevelAndContrast()
    predictor = Predictor(config, ["dog", "rain", "rooster"], norms, network)  # type: ignore[arg-type]
    with torch.no_grad():
        patch_probs = network(torch.stack([weighed[i][0] for i in range(len(weighed))])).softmax(-1)
    clips = torch.zeros(len(weighed), dtype=torch.long)
    scored = clip_probabilities(patch_probs, clips, 1, torch.from_numpy(weighed.weights))[0]
    from stasc.audio import load_views

    predicted = predictor.window_probabilities(load_views(DOG, 22050)[None])[0]
    # the cache holds the same float32 spectrogram the prediction path recomputes
    torch.testing.assert_close(predicted, scored, rtol=0, atol=1e-4)
    assert (scored - clip_probabilities(patch_probs, clips, 1)[0]).abs().max() > 1e-3  # the weights mattered


def bark_and_silence(tmp_path: Path) -> tuple[ClipTable, list[FeatureCache], FrontEnd]:
    """The dog's bark in its digital silence and 5 s of nothing at all, their log-mel cached, and a front end of
    32 x 32 patches every 16 frames."""
    import soundfile as sf

    sf.write(tmp_path / "silence.wav", np.zeros(5 * 22050, dtype=np.float32), 22050)
    (tmp_path / "meta.csv").write_text(f"filename,label\n{DOG},dog\n{tmp_path / 'silence.wav'},rain\n")
    table = open_dataset(tmp_path / "meta.csv")
    extract(table, SMALL_LOGMEL, tmp_path / "cache", progress=False)
    caches = [FeatureCache(tmp_path / "cache", SMALL_LOGMEL)]
    config = ExperimentConfig.parse({
        "input": {"features": [SMALL_LOGMEL], "patch_width": 32, "patch_shift": 16, "patch_size": [32, 32]}})
    return table, caches, FrontEnd(config.input, fit_normalizers(caches, table.files))


def test_silent_training_patches_are_dropped_and_a_wholly_silent_clip_keeps_its_own(tmp_path: Path) -> None:
    table, caches, front = bark_and_silence(tmp_path)
    every = PatchDataset(caches, table.files, [0, 1], front)
    sounding = PatchDataset(caches, table.files, [0, 1], front, drop_silent=True)
    shares = PatchDataset(caches, table.files, [0, 1], front, patch_weights="sound").weights
    dog = every.index[:, 0] == 0
    # the dog keeps exactly its patches over the bark; the silent clip keeps all of its own (none would leave it
    # unheard), and each kept item is the same patch as before
    assert 0 < (shares[dog] > 0).sum() < dog.sum()
    assert sounding.silent_dropped == int((shares[dog] == 0).sum())
    assert len(sounding) == len(every) - sounding.silent_dropped
    np.testing.assert_array_equal(sounding.index[sounding.index[:, 0] == 0], every.index[dog][shares[dog] > 0])
    np.testing.assert_array_equal(sounding.index[sounding.index[:, 0] == 1], every.index[~dog])
    kept = np.flatnonzero(dog & (shares > 0))[0]
    torch.testing.assert_close(sounding[0][0], every[int(kept)][0])
    assert np.all(sounding.weights == 1.0)  # the training patches that stay are not weighed


def test_weighed_training_patches_carry_their_sound_share_and_the_patches_of_silence_leave(
        tmp_path: Path) -> None:
    # train.silent_patches 'weight': the fit part is built with sound weights and the silent patches dropped
    table, caches, front = bark_and_silence(tmp_path)
    shares = PatchDataset(caches, table.files, [0, 1], front, patch_weights="sound")
    weighed = PatchDataset(caches, table.files, [0, 1], front, patch_weights="sound", drop_silent=True)
    dog = shares.index[:, 0] == 0
    sounding = dog & (shares.weights > 0)
    # the dog's patches over the bark stay, each weighing its share (some less than 1: the bark's edges)
    np.testing.assert_array_equal(weighed.index[weighed.index[:, 0] == 0], shares.index[sounding])
    np.testing.assert_array_equal(weighed.weights[weighed.index[:, 0] == 0], shares.weights[sounding])
    assert shares.weights[sounding].min() < 1.0
    assert weighed.silent_dropped == int((dog & (shares.weights == 0)).sum()) > 0
    # the floor sits top_db under each view's loudest frame, so a clip of nothing but silence is all "loudest": it
    # keeps every patch at full weight
    assert np.all(weighed.weights[weighed.index[:, 0] == 1] == 1.0) and (weighed.index[:, 0] == 1).sum() == (~dog).sum()
    assert [weighed[i][3] for i in range(len(weighed))] == pytest.approx(weighed.weights.tolist())
