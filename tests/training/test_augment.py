"""Augmentation of training patches (time shift, contrast, noise floor, gain, equaliser, frequency warp, time stretch,
frequency/time masks): what each does, how much, reproducibly from the seed, and only in training steps."""

import logging
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from stasc.config import AugmentConfig, ConfigError, ExperimentConfig, load_experiment
from stasc.features.frontend import FrontEnd
from stasc.features.patches import Normalizer
from stasc.training.augment import (
    augment,
    contrast_patches,
    filter_patches,
    gain_patches,
    mask_patches,
    noise_patches,
    shift_patches,
    stretch_patches,
    warp_patches,
)


def masked(patches: torch.Tensor, seed: int = 0, **settings: int) -> torch.Tensor:
    options = {"freq_masks": 0, "freq_max_width": 8, "time_masks": 0, "time_max_width": 16, **settings}
    return mask_patches(patches, rng=np.random.default_rng(seed), **options)


def test_frequency_masks_zero_whole_rows_of_every_channel_within_the_width() -> None:
    patches = torch.rand(200, 2, 40, 64) + 1.0  # no zeros of its own
    out = masked(patches, freq_masks=1, freq_max_width=8)
    zero_rows = (out == 0).all(dim=3)  # B, C, rows
    assert torch.equal(zero_rows[:, 0], zero_rows[:, 1])  # both channels masked alike
    widths = zero_rows[:, 0].sum(1)
    assert widths.max() <= 8 and widths.min() == 0 and len(set(widths.tolist())) == 9  # 0..8 all drawn
    # one band per patch: the zeroed rows are adjacent
    for row in zero_rows[:, 0]:
        index = torch.nonzero(row).flatten()
        assert len(index) == 0 or index[-1] - index[0] + 1 == len(index)
    untouched = ~zero_rows[:, 0]
    assert torch.equal(out[:, 0][untouched], patches[:, 0][untouched])


def test_time_masks_zero_whole_columns_and_two_masks_cover_more() -> None:
    patches = torch.rand(500, 1, 40, 64) + 1.0
    one = (masked(patches, time_masks=1, time_max_width=16) == 0).all(dim=2).float().mean()
    two = (masked(patches, time_masks=2, time_max_width=16) == 0).all(dim=2).float().mean()
    assert 0.09 < one < 0.16  # a mean width of 8 of 64 frames: 12.5 %
    assert two > one * 1.6


def test_masking_is_reproducible_and_zero_settings_change_nothing() -> None:
    patches = torch.rand(16, 1, 40, 64)
    assert torch.equal(masked(patches, 3, freq_masks=2, time_masks=2), masked(patches, 3, freq_masks=2, time_masks=2))
    assert not torch.equal(masked(patches, 3, freq_masks=2), masked(patches, 4, freq_masks=2))
    assert torch.equal(masked(patches, freq_masks=0, time_masks=0), patches)
    assert torch.equal(masked(patches, freq_masks=3, freq_max_width=0), patches)
    # a width beyond the patch is clipped to it
    assert (masked(patches, freq_masks=1, freq_max_width=500) == 0).all(dim=3).sum(1).max() <= 40


def test_time_shift_rolls_each_patch_by_its_own_whole_number_of_frames() -> None:
    patches = torch.rand(300, 2, 8, 32)
    out = shift_patches(patches, max_shift=5, rng=np.random.default_rng(0))
    shifts = []
    for original, moved in zip(patches, out):
        found = [k for k in range(-5, 6) if torch.equal(torch.roll(original, k, dims=-1), moved)]
        assert len(found) == 1  # every channel rolled by the same amount
        shifts.append(found[0])
    assert set(shifts) == set(range(-5, 6))  # every shift in [-5, 5] drawn, none beyond
    assert torch.equal(shift_patches(patches, max_shift=5, rng=np.random.default_rng(0)), out)


def test_contrast_scales_each_patch_about_the_mean_by_its_own_factor() -> None:
    patches = torch.rand(400, 2, 8, 16) + 0.5  # no zeros of its own
    patches[:, :, :, -4:] = 0  # a pad (or a mask) at the training mean
    out = contrast_patches(patches, max_change=0.3, rng=np.random.default_rng(0))
    factors = out[:, 0, 0, 0] / patches[:, 0, 0, 0]
    # one factor per patch, for every channel, row and frame
    torch.testing.assert_close(out, factors[:, None, None, None] * patches)
    assert factors.min() >= 0.7 - 1e-6 and factors.max() <= 1.3 + 1e-6  # uniform over [0.7, 1.3]
    assert factors.min() < 0.72 and factors.max() > 1.28 and (factors < 1).any() and (factors > 1).any()
    assert torch.all(out[..., -4:] == 0)  # the mean stays where it is
    assert torch.equal(out, contrast_patches(patches, max_change=0.3, rng=np.random.default_rng(0)))
    assert not torch.equal(out, contrast_patches(patches, max_change=0.3, rng=np.random.default_rng(1)))
    assert torch.equal(contrast_patches(patches, max_change=0.0, rng=np.random.default_rng(0)), patches)


def test_contrast_under_clip_mean_normalisation_is_the_clip_with_a_wider_or_narrower_dynamic_range() -> None:
    # what the network sees of a real spoken digit whose log-mel rows swing k times as far about their own means is
    # its patch times k: what contrast_patches draws (above)
    from helpers import FSDD
    from stasc.audio import load_views
    from stasc.features.patches import clip_normalize

    config = load_experiment("sample").input
    clips = sorted((FSDD / "recordings").glob("*.wav"))[::250][:6]  # a few speakers and digits
    probe = FrontEnd(config, [Normalizer(np.zeros(40, np.float32), np.ones(40, np.float32))])
    spectrograms = [probe.spectrograms(load_views(clip, 8000)[None])[0][0, 0] for clip in clips]  # R, T each
    front = FrontEnd(config, [Normalizer.fit([clip_normalize(s, "mean").numpy() for s in spectrograms])])
    spectrogram = spectrograms[0]
    means = spectrogram.mean(-1, keepdim=True)
    normalized = front.normalize(0, clip_normalize(spectrogram, "mean"))
    assert abs(float(front.mean_0.abs().max())) < 1e-3  # the training mean of mean-removed rows: 0
    for k in (0.7, 1.3):
        wider_or_narrower = means + k * (spectrogram - means)  # the same clip, its dB range scaled by k
        heard = front.normalize(0, clip_normalize(wider_or_narrower, "mean"))
        torch.testing.assert_close(heard, k * normalized, rtol=1e-4, atol=1e-4)  # a contrast factor k


def test_gain_adds_the_feature_direction_scaled_by_a_draw_per_patch() -> None:
    patches = torch.zeros(400, 2, 4, 6)
    directions = torch.tensor([[1.0, 0.5, 0.0, -1.0], [2.0, 2.0, 2.0, 2.0]])[:, :, None]  # C, H, 1
    out = gain_patches(patches, max_db=6.0, directions=directions, rng=np.random.default_rng(1))
    gains = out[:, 1, 0, 0] / 2.0  # channel 1 moves 2 per dB on every row
    assert gains.abs().max() <= 6.0 and gains.min() < -5.5 and gains.max() > 5.5  # uniform over [-6, 6]
    torch.testing.assert_close(out, gains[:, None, None, None] * directions[None].expand(400, 2, 4, 6))


def test_gain_directions_follow_each_feature_and_its_normaliser() -> None:
    config = ExperimentConfig.parse({
        "input": {"features": [{"kind": "logmel", "n_mels": 40, "n_fft": 1024, "hop_length": 512},
                               {"kind": "mfcc", "n_mels": 40, "n_mfcc": 20, "n_fft": 1024, "hop_length": 512}],
                  "patch_size": [40, 64]},
        "model": {"in_channels": 2, "input_size": [40, 64], "width_multiplier": 0.0625},
    })
    stds = [np.full(40, 2.0, np.float32), np.linspace(1, 4, 20).astype(np.float32)]
    front = FrontEnd(config.input, [Normalizer(np.zeros(len(s), np.float32), s) for s in stds])
    directions = front.gain_directions()  # 2, 40, 1
    torch.testing.assert_close(directions[0, :, 0], torch.full((40,), 0.5))  # +1 dB on every band / std 2
    # MFCC: all of a louder input is in c0 (√40 for the orthonormal DCT, std 1), then resized from 20 to 40 rows
    c0 = torch.zeros(1, 1, 20, 1)
    c0[0, 0, 0, 0] = 40**0.5
    resized = torch.nn.functional.interpolate(c0, size=(40, 1), mode="bilinear", align_corners=False)[0, 0, :, 0]
    torch.testing.assert_close(directions[1, :, 0], resized, atol=1e-4, rtol=0)
    assert directions[1, 0, 0] > 6.3 and directions[1, 4:, 0].abs().max() < 1e-4


def test_frequency_warp_stretches_each_patch_by_its_own_factor_about_the_lowest_row() -> None:
    rows = 40
    ramp = torch.arange(rows, dtype=torch.float32)[None, None, :, None].expand(300, 2, rows, 8).contiguous()
    warped = warp_patches(ramp, max_warp=0.2, rng=np.random.default_rng(0))
    assert warped.shape == ramp.shape
    # a linear ramp interpolates exactly: output row r holds min(r / factor, top row)
    factors = 1 / warped[:, 0, 1, 0].numpy()
    assert factors.min() >= 0.8 - 1e-6 and factors.max() <= 1.2 + 1e-6 and factors.std() > 0.05
    expected = np.minimum(np.arange(rows)[None] / factors[:, None], rows - 1)
    np.testing.assert_allclose(warped[:, 0, :, 0].numpy(), expected, atol=1e-4)
    assert torch.equal(warped[:, 0], warped[:, 1]) and torch.equal(warped[..., 0], warped[..., 7])  # channels, frames
    assert torch.all(warped[:, :, 0] == 0)  # the lowest row stays where it is
    squeezed = factors < 1
    assert squeezed.any() and torch.all(warped[squeezed, :, -1] == rows - 1)  # the top row fills what comes from above
    assert torch.equal(warped, warp_patches(ramp, max_warp=0.2, rng=np.random.default_rng(0)))
    assert torch.equal(warp_patches(ramp, max_warp=0.0, rng=np.random.default_rng(3)), ramp)


def test_time_stretch_slows_or_speeds_each_patch_by_its_own_factor_about_the_middle_frame() -> None:
    frames = 33
    middle = (frames - 1) / 2
    ramp = torch.arange(frames, dtype=torch.float32)[None, None, None, :].expand(300, 2, 6, frames).contiguous()
    stretched = stretch_patches(ramp, max_stretch=0.2, rng=np.random.default_rng(0))
    assert stretched.shape == ramp.shape
    # a linear ramp interpolates exactly: output frame t holds middle + (t - middle) / factor, within the patch
    factors = 1 / (stretched[:, 0, 0, int(middle) + 1] - middle).numpy()
    assert factors.min() >= 0.8 - 1e-6 and factors.max() <= 1.2 + 1e-6 and factors.std() > 0.05
    expected = np.clip(middle + (np.arange(frames)[None] - middle) / factors[:, None], 0, frames - 1)
    np.testing.assert_allclose(stretched[:, 0, 0, :].numpy(), expected, atol=1e-4)
    assert torch.equal(stretched[:, 0], stretched[:, 1]) and torch.equal(stretched[:, :, 0], stretched[:, :, 5])
    assert torch.all(stretched[..., int(middle)] == middle)  # the middle frame stays where it is
    sped_up = factors < 1
    assert sped_up.any() and torch.all(stretched[sped_up, ..., -1] == frames - 1)  # the edges fill what lies outside
    assert torch.equal(stretched, stretch_patches(ramp, max_stretch=0.2, rng=np.random.default_rng(0)))
    assert torch.equal(stretch_patches(ramp, max_stretch=0.0, rng=np.random.default_rng(3)), ramp)
    # along time every feature can stretch, cepstra too
    assert load_experiment("mfcc", {"augment": {"time_stretch": 0.1}}).augment.enabled
    with pytest.raises(ConfigError, match=r"augment.time_stretch: input should be less than 1"):
        load_experiment("sample", {"augment": {"time_stretch": 1.0}})


def test_the_equaliser_adds_its_own_piecewise_linear_curve_to_each_patch_in_db_of_each_band() -> None:
    patches = torch.rand(300, 2, 40, 16)
    directions = torch.stack([torch.full((40, 1), 0.5), torch.full((40, 1), 2.0)])  # C, H, 1: per dB of a band
    out = filter_patches(patches, max_db=6.0, points=4, directions=directions, rng=np.random.default_rng(0))
    change = out - patches
    torch.testing.assert_close(change, change[..., :1].expand_as(change))  # the same on every frame
    curves = change[:, 0, :, 0] / 0.5  # dB per row
    torch.testing.assert_close(change[:, 1, :, 0] / 2.0, curves)  # both channels coloured alike
    assert curves.abs().max() <= 6.0 + 1e-5 and curves.max() > 5.0 and curves.min() < -5.0
    # linear between 4 knots: the lowest and highest row and 2 random ones between, so the slope changes at no more
    # than 2 places (4 rows of second differences: a knot between rows touches two)
    bends = (curves.diff(dim=1).diff(dim=1).abs() > 1e-4).sum(dim=1)
    assert bends.max() <= 4 and bends.float().mean() > 1
    assert len({tuple(c.round(decimals=3).tolist()) for c in curves}) == 300  # each patch its own curve
    again = filter_patches(patches, max_db=6.0, points=4, directions=directions, rng=np.random.default_rng(0))
    assert torch.equal(out, again)
    flat = filter_patches(patches, max_db=6.0, points=2, directions=directions, rng=np.random.default_rng(0))
    assert ((flat - patches)[:, 0, :, 0].diff(dim=1).diff(dim=1).abs() < 1e-4).all()  # two knots: a tilt


def test_the_noise_floor_adds_the_power_of_a_patchs_own_spectrum_at_the_drawn_snr_to_a_real_recording() -> None:
    import soundfile as sf

    from helpers import ESC10
    from stasc.features import compute
    from stasc.features.registry import parse_feature

    # a dog's bark in its first 0.6 s, then the digital silence ESC pads its short sources with
    audio, rate = sf.read(ESC10 / "audio" / "1-110389-A.ogg", dtype="float32", always_2d=True)
    db = compute(parse_feature({"kind": "logmel", "sample_rate": rate, "n_fft": 2048, "hop_length": 1024,
                                "n_mels": 64}), audio.T, rate)[0][:, :128]  # H, W in dB
    # clamped: a constant row (no sound above 20 kHz)
    mean, std = db.mean(1, keepdim=True), db.std(1, keepdim=True).clamp_min(1e-2)
    patches = ((db - mean) / std)[None, None].repeat(3, 1, 1, 1)  # B, C, H, W as the normaliser gives them
    directions = (1 / std)[None]  # C, H, 1: per dB of each band
    out = noise_patches(patches, snr_db=(10.0, 10.0), directions=directions, rng=np.random.default_rng(0))
    noisy = out * std + mean  # back to dB

    def mean_power(rows: torch.Tensor) -> torch.Tensor:
        return (10 ** (rows.double() / 10)).mean(-1)

    # each row's mean power grows by exactly the noise's: 10 dB under it
    torch.testing.assert_close(mean_power(noisy[0, 0]), mean_power(db) * 1.1, rtol=1e-4, atol=0)
    assert (noisy[0, 0] >= db - 1e-4).all()  # noise only adds power
    floor = 10 * torch.log10(mean_power(db) * 0.1).float()[:, None]  # each row's noise level, in dB
    loud = db > floor + 20
    silent = db < floor - 20
    assert loud.any() and silent.any()
    assert (noisy[0, 0] - db)[loud].abs().max() < 0.05  # the bark barely moves
    torch.testing.assert_close(noisy[0, 0][silent], floor.expand_as(db)[silent], atol=0.05, rtol=0)  # silence: floor
    # a draw per patch, reproducible, and rows that are not dB (a PCEN channel: direction 0) left as they are
    drawn = noise_patches(patches, snr_db=(0.0, 30.0), directions=directions, rng=np.random.default_rng(1))
    assert not torch.equal(drawn[0], drawn[1]) and not torch.equal(drawn[1], drawn[2])
    assert torch.equal(drawn, noise_patches(patches, snr_db=(0.0, 30.0), directions=directions,
                                            rng=np.random.default_rng(1)))
    two = torch.cat([patches, patches], 1)  # B, 2, H, W: the log-mel and a stand-in for a PCEN channel
    both = noise_patches(two, snr_db=(10.0, 10.0), directions=torch.cat([directions, torch.zeros_like(directions)]),
                         rng=np.random.default_rng(0))
    assert torch.equal(both[:, 1], two[:, 1])
    torch.testing.assert_close(both[:, :1], out)


def test_the_noise_floor_needs_frequency_rows_in_db_and_an_ordered_range() -> None:
    assert AugmentConfig(noise_snr_db=(10, 30)).enabled
    assert load_experiment("sample", {"augment": {"noise_snr_db": [10, 30]}}).augment.noise_snr_db == (10.0, 30.0)
    with pytest.raises(ConfigError, match=r"noise_snr_db is \[low, high\] dB; got low 30.0 above high 10.0"):
        load_experiment("sample", {"augment": {"noise_snr_db": [30, 10]}})
    with pytest.raises(ConfigError, match=r"noise_snr_db adds noise to frequency rows in dB; mfcc rows are cepstral"):
        load_experiment("mfcc", {"augment": {"noise_snr_db": [10, 30]}})
    pcen = {"kind": "pcen", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 40}
    with pytest.raises(ConfigError, match=r"augment.noise_snr_db changes levels in dB; pcen rows divide each band"):
        load_experiment("sample", {"input": {"features": [pcen]}, "augment": {"noise_snr_db": [10, 30],
                                                                             "filter_db": 0}})
    with pytest.raises(ValueError, match=r"noise_snr_db needs the front end's band directions"):
        augment(torch.zeros(2, 1, 8, 8), AugmentConfig(noise_snr_db=(10, 30)), gain_directions=torch.zeros(0),
                rng=np.random.default_rng(0))


def test_band_directions_are_one_db_of_each_band_as_the_network_sees_it() -> None:
    config = ExperimentConfig.parse({
        "input": {"features": [{"kind": "logmel", "n_mels": 20, "n_fft": 1024, "hop_length": 512}],
                  "patch_size": [40, 64]},
        "model": {"input_size": [40, 64], "width_multiplier": 0.0625},
    })
    std = np.linspace(1, 4, 20).astype(np.float32)
    directions = FrontEnd(config.input, [Normalizer(np.zeros(20, np.float32), std)]).band_directions()
    expected = torch.nn.functional.interpolate(torch.from_numpy(1 / std)[None, None, :, None], size=(40, 1),
                                               mode="bilinear", align_corners=False)[0, 0, :, 0]
    assert directions.shape == (1, 40, 1)
    torch.testing.assert_close(directions[0, :, 0], expected)


def test_the_equaliser_needs_frequency_rows_and_its_directions() -> None:
    assert load_experiment("envsound").augment.filter_db == 6  # the preset takes it since 2026-12-06
    # a CQT model may take it too (its rows are frequencies), a cepstral one may not
    assert load_experiment("cqt-mfcc", {"input": {"features": [{"kind": "cqt"}]}, "model": {"in_channels": 1},
                                        "augment": {"filter_db": 6}}).augment.enabled
    assert AugmentConfig(filter_db=6).enabled and not AugmentConfig(filter_points=5).enabled
    with pytest.raises(ConfigError, match=r"filter_db gives frequency rows their own gains; mfcc rows are cepstral"):
        load_experiment("mfcc", {"augment": {"filter_db": 6}})
    with pytest.raises(ConfigError, match=r"augment.filter_points: input should be greater than or equal to 2"):
        load_experiment("envsound", {"augment": {"filter_points": 1}})
    with pytest.raises(ValueError, match=r"filter_db needs the front end's band directions"):
        augment(torch.zeros(2, 1, 8, 8), AugmentConfig(filter_db=3), gain_directions=torch.zeros(0),
                rng=np.random.default_rng(0))


def test_frequency_warp_needs_frequency_rows_and_a_factor_below_one() -> None:
    assert load_experiment("sample", {"augment": {"freq_warp": 0.1}}).augment.enabled
    assert load_experiment("cqt-mfcc", {"input": {"features": ["cqt"]}, "model": {"in_channels": 1},
                                        "augment": {"freq_warp": 0.1}}).augment.freq_warp == 0.1
    with pytest.raises(ConfigError, match=r"freq_warp stretches frequency rows; mfcc rows are cepstral coefficients"):
        load_experiment("mfcc", {"augment": {"freq_warp": 0.1}})
    with pytest.raises(ConfigError, match=r"augment.freq_warp: input should be less than 1"):
        load_experiment("sample", {"augment": {"freq_warp": 1.0}})


def test_augment_applies_what_is_on_in_order_and_nothing_when_off() -> None:
    patches = torch.rand(32, 1, 16, 32) + 1.0
    directions = torch.ones(1, 16, 1)
    off = AugmentConfig()
    assert not off.enabled
    assert torch.equal(augment(patches, off, gain_directions=directions, rng=np.random.default_rng(0)), patches)
    on = AugmentConfig(time_shift=3, contrast=0.2, noise_snr_db=(10, 30), gain_db=2.0, filter_db=3.0, freq_warp=0.1,
                       time_stretch=0.1, freq_masks=1, time_masks=1)
    a = augment(patches, on, gain_directions=directions, band_directions=directions, rng=np.random.default_rng(5))
    b = augment(patches, on, gain_directions=directions, band_directions=directions, rng=np.random.default_rng(5))
    assert torch.equal(a, b) and a.shape == patches.shape
    assert not torch.equal(a, augment(patches, on, gain_directions=directions, band_directions=directions,
                                      rng=np.random.default_rng(6)))
    masked_any = (a == 0).all(dim=2).any() or (a == 0).all(dim=3).any()
    assert masked_any  # the masks come last: what they cover stays exactly at the mean
    with pytest.raises(ValueError, match=r"expected patches \(B, C, H, W\)"):
        augment(torch.zeros(3, 40, 64), on, gain_directions=directions, rng=np.random.default_rng(0))


def test_settings_are_checked_and_off_in_the_paper_presets() -> None:
    for preset in ("mfcc", "mfcc-stap", "mfcc-stap-mixup", "cqt-mfcc", "cqt-mfcc-stap", "hpss-mfcc-stap-mixup"):
        assert not load_experiment(preset).augment.enabled, preset
    assert load_experiment("sample", {"augment": {"freq_masks": 2}}).augment.enabled
    with pytest.raises(ConfigError, match=r"augment.time_max_width: input should be greater than or equal to 0"):
        load_experiment("sample", {"augment": {"time_max_width": -1}})
    assert load_experiment("sample", {"augment": {"contrast": 0.3}}).augment.enabled
    with pytest.raises(ConfigError, match=r"augment.contrast: input should be less than 1"):
        load_experiment("sample", {"augment": {"contrast": 1.0}})
    with pytest.raises(ConfigError, match=r"augment.gain_db: input should be a finite number"):
        load_experiment("sample", {"augment": {"gain_db": float("inf")}})


def test_augmentation_runs_in_training_steps_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from stasc.training import module as module_file
    from stasc.training.module import SceneClassifier

    config = ExperimentConfig.parse({
        "input": {"features": [{"kind": "logmel", "n_mels": 32, "n_fft": 512, "hop_length": 256}],
                  "patch_size": [32, 32]},
        "model": {"input_size": [32, 32], "width_multiplier": 0.0625, "n_classes": 3},
        "augment": {"time_shift": 4, "gain_db": 3.0, "filter_db": 3.0},
    })
    module = SceneClassifier.create(config, ["a", "b", "c"], [Normalizer(np.zeros(32), np.ones(32))])
    calls = []
    monkeypatch.setattr(module_file, "augment", lambda x, *a, **k: calls.append(x.shape) or x)
    batch = (torch.randn(4, 1, 32, 32), torch.tensor([0, 1, 2, 0]), torch.tensor([0, 0, 1, 1]), torch.ones(4))

    class Trainer:  # the little of a Lightning trainer that the steps read
        from lightning.pytorch.trainer.states import TrainerFn, TrainerState

        state = TrainerState(fn=TrainerFn.VALIDATING)
        world_size = 1

    module._trainer = Trainer()  # type: ignore[assignment]
    monkeypatch.setattr(module, "log", lambda *a, **k: None)
    module.validation_step(batch, 0)
    assert calls == []  # validation (and the test pass, the same step) never augments
    module.training_step(batch, 0)
    assert calls == [(4, 1, 32, 32)]


def test_stasc_train_with_every_augmentation_on_and_a_clear_error_for_warping_cepstra(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from helpers import FSDD, TINY, fsdd_subset
    from stasc.cli import main
    from stasc.runs import RunDir

    data = fsdd_subset(tmp_path, 1)
    common = ["--data", str(data), "--audio-root", str(FSDD / "recordings"), "--cache", str(tmp_path / "cache"),
              "--fold", "0", "--k", "5", "--no-progress", *TINY]
    augmentations = ["augment.time_shift=8", "augment.contrast=0.3", "augment.gain_db=6", "augment.filter_db=6",
                     "augment.freq_warp=0.15", "augment.time_stretch=0.1", "augment.freq_masks=2",
                     "augment.time_masks=2", "augment.noise_snr_db=[10,30]"]
    run = tmp_path / "run"
    sets = [arg for setting in augmentations for arg in ("--set", setting)]
    assert main(["train", "--preset", "sample", "--out", str(run), *common, *sets]) == 0
    trained = load_experiment(RunDir(run).config).augment
    assert (trained.time_shift, trained.contrast, trained.gain_db, trained.filter_db, trained.freq_warp,
            trained.time_stretch, trained.freq_masks, trained.time_masks, trained.noise_snr_db) == (
        8, 0.3, 6.0, 6.0, 0.15, 0.1, 2, 2, (10.0, 30.0))
    assert RunDir(run).split("fold-0").finished
    capsys.readouterr()
    assert main(["train", "--preset", "mfcc", "--out", str(tmp_path / "mfcc"), *common,
                 "--set", "augment.freq_warp=0.1"]) == 2
    assert "freq_warp stretches frequency rows; mfcc rows are cepstral coefficients" in capsys.readouterr().err


def test_gain_and_equaliser_under_clip_mean_normalisation_are_said_to_be_offsets_only(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # the clip's row means go before the augmentation: a real gain or filter would vanish, so say what the draws are
    # where they act (training), not on every command that reads the config
    from helpers import FSDD, TINY, fsdd_subset
    from stasc.cli import main

    both = load_experiment("sample", {"augment": {"gain_db": 6, "filter_db": 6}})
    assert both.offsets_only() is not None
    assert re.match(r"augment.gain_db and augment.filter_db with input.clip_norm 'mean'.*random per-row offsets",
                    both.offsets_only() or "")
    assert load_experiment("envsound", {}).offsets_only() is None  # no clip normalisation: a gain is a gain
    scaled = load_experiment("sample", {"input": {"clip_norm": "meanstd"}})  # the same shift, then one scale
    assert (scaled.offsets_only() or "").startswith("augment.filter_db with input.clip_norm 'meanstd'")
    assert load_experiment("sample", {"augment": {"filter_db": 0}}).offsets_only() is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_experiment("sample", {})  # the preset takes the equaliser as a regulariser on purpose: no warning
    data = fsdd_subset(tmp_path, 1)
    with caplog.at_level(logging.INFO, logger="stasc"):
        assert main(["train", "--preset", "sample", "--data", str(data), "--audio-root", str(FSDD / "recordings"),
                     "--cache", str(tmp_path / "cache"), "--fold", "0", "--k", "5", "--no-progress", *TINY,
                     "--out", str(tmp_path / "run")]) == 0
    assert "augment.filter_db with input.clip_norm 'mean'" in caplog.text
