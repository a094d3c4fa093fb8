"""Test-time frequency warps (``model.test_time_warps``): the fixed warp, the averaged probabilities, the config,
and that evaluation, prediction and export all read them."""

import numpy as np
import pytest
import torch

from stasc.config import ConfigError, load_experiment
from stasc.features.warp import warp_matrix, warp_rows, warp_source
from stasc.models import ModelConfig, build_model
from stasc.models.probabilities import class_probabilities
from stasc.training.augment import _resample_axis


def test_a_fixed_warp_moves_row_r_to_r_times_the_factor_and_the_top_row_fills_from_above() -> None:
    rows = 16
    ramp = torch.arange(rows, dtype=torch.float32)[None, None, :, None].expand(2, 3, rows, 5)  # row r holds r
    stretched, squeezed = warp_rows(ramp, 1.25), warp_rows(ramp, 0.8)
    # a linear ramp is interpolated exactly: output row r reads input row r / factor
    np.testing.assert_allclose(stretched[0, 0, :, 0].numpy(), np.arange(rows) / 1.25, atol=1e-5)
    np.testing.assert_allclose(squeezed[0, 0, :, 0].numpy(), np.minimum(np.arange(rows) / 0.8, rows - 1), atol=1e-5)
    assert torch.equal(stretched[:, :, :, 0:1].expand_as(stretched), stretched)  # every frame alike
    assert warp_rows(ramp, 1.0) is ramp  # the identity costs nothing
    assert torch.allclose(warp_matrix(rows, 1.25).sum(1), torch.ones(rows))  # each output row a convex mix


def test_the_test_time_warp_is_the_training_warp_at_a_fixed_factor() -> None:
    # one definition of the mapping (warp_source): the matrix form equals the gather form augment uses
    x = torch.randn(4, 2, 40, 7, generator=torch.Generator().manual_seed(0))
    for factor in (0.85, 0.9, 1.1, 1.2):
        gathered = _resample_axis(x, warp_source(40, np.full(4, factor)), axis=2)
        torch.testing.assert_close(warp_rows(x, factor), gathered, atol=1e-5, rtol=0)


def test_class_probabilities_average_the_softmax_over_the_warps() -> None:
    torch.manual_seed(0)
    model = build_model(ModelConfig.paper(width_multiplier=1 / 16, input_size=(32, 32), pooling="mean",
                                          head="linear")).eval()
    x = torch.randn(5, 1, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(class_probabilities(model, x, [1.0]), model(x).softmax(-1))
        expected = torch.stack([model(warp_rows(x, f)).softmax(-1) for f in (0.9, 1.0, 1.1)]).mean(0)
        averaged = class_probabilities(model, x, [0.9, 1.0, 1.1])
        torch.testing.assert_close(averaged, expected)
        torch.testing.assert_close(averaged.sum(-1), torch.ones(5))
        assert not torch.allclose(averaged, model(x).softmax(-1))  # the warps changed something
    with pytest.raises(ValueError, match="at least one factor"):
        class_probabilities(model, x, [])


def test_test_time_warps_default_to_none_and_bad_values_are_refused_by_name() -> None:
    assert ModelConfig.paper().test_time_warps == [1.0]
    assert load_experiment("sample", {"model": {"test_time_warps": [0.9, 1.0, 1.1]}}).model.test_time_warps == [
        0.9, 1.0, 1.1]
    for bad in ([], [0.2], [1.0, 3.0], "fast"):
        with pytest.raises(ConfigError, match="test_time_warps"):
            load_experiment("sample", {"model": {"test_time_warps": bad}})


def test_scoring_in_training_and_prediction_both_hear_the_warps() -> None:
    # the CV's test scores (the training module's evaluation pass) and `stasc predict` (Predictor) must agree
    from stasc.config import ExperimentConfig
    from stasc.features.patches import Normalizer
    from stasc.inference import Predictor
    from stasc.training.module import SceneClassifier

    warps = [0.8, 1.0, 1.25]
    config = ExperimentConfig.parse({
        "input": {"features": [{"kind": "logmel", "n_mels": 32, "n_fft": 512, "hop_length": 256}],
                  "patch_width": 32, "patch_size": [32, 32]},
        "model": {"input_size": [32, 32], "width_multiplier": 0.0625, "n_classes": 3, "pooling": "mean",
                  "head": "linear", "test_time_warps": warps},
    })
    torch.manual_seed(0)
    normalizers = [Normalizer(np.zeros(32), np.ones(32))]
    module = SceneClassifier.create(config, ["a", "b", "c"], normalizers).eval()
    x = torch.randn(6, 1, 32, 32)
    with torch.no_grad():
        module.validation_step((x, torch.zeros(6, dtype=torch.long), torch.arange(6), torch.ones(6)), 0)
        scored = module._probs[0]
        expected = torch.stack([module.model(warp_rows(x, f)).softmax(-1) for f in warps]).mean(0)
        torch.testing.assert_close(scored, expected)
        predictor = Predictor(config, ["a", "b", "c"], normalizers, module.model)
        rate = config.input.sample_rate
        t = torch.arange(256 * 40) / rate
        # one mono window of 40 frames (two patches): a low tone, which a warp moves, over a little noise
        views = (torch.sin(2 * torch.pi * 300 * t) + 0.01 * torch.randn(len(t)))[None, None]
        patches = predictor.front_end(views)[0]
        window = predictor.window_probabilities(views)[0]
        torch.testing.assert_close(window, class_probabilities(module.model, patches, warps).mean(0))
        assert not torch.allclose(window, module.model(patches).softmax(-1).mean(0))


def test_warps_of_cepstral_rows_are_refused_and_so_is_nothing_else() -> None:
    with pytest.raises(ConfigError, match=r"test_time_warps stretch frequency rows; mfcc rows are cepstral"):
        load_experiment("mfcc", {"model": {"test_time_warps": [0.9, 1.0, 1.1]}})
    assert load_experiment("mfcc", {"model": {"test_time_warps": [1.0]}}).model.test_time_warps == [1.0]
    assert load_experiment("cqt-mfcc", {}).model.test_time_warps == [1.0]


def test_sound_weights_need_a_first_feature_in_db_frequency_rows() -> None:
    with pytest.raises(ConfigError, match=r"patch_weights 'sound' finds silent frames .* mfcc rows are cepstral"):
        load_experiment("mfcc", {"model": {"patch_weights": "sound"}})
    with pytest.raises(ConfigError, match=r"patch_weights"):
        load_experiment("envsound", {"model": {"patch_weights": "loudest"}})
    # cqt first (cqt-mfcc) hears silence on its dB rows; envsound weighs by sound, the paper presets do not
    assert load_experiment("cqt-mfcc", {"model": {"patch_weights": "sound"}}).model.patch_weights == "sound"
    assert load_experiment("envsound").model.patch_weights == "sound"
    assert {load_experiment(name).model.patch_weights for name in ("mfcc", "cqt-mfcc-stap", "sample")} == {"equal"}


def test_dropping_silent_training_patches_needs_a_first_feature_in_db_frequency_rows() -> None:
    for mode in ("drop", "weight"):
        with pytest.raises(ConfigError, match=rf"silent_patches '{mode}' finds silent frames .* mfcc rows are cep"):
            load_experiment("mfcc", {"train": {"silent_patches": mode}})
    assert load_experiment("cqt-mfcc", {"train": {"silent_patches": "weight"}}).train.silent_patches == "weight"
    # envsound leaves its silence out of training (chosen on whole-fold validation parts); the others train on all
    assert load_experiment("envsound").train.silent_patches == "drop"
    assert {load_experiment(name).train.silent_patches for name in ("mfcc", "cqt-mfcc-stap", "sample")} == {"keep"}
