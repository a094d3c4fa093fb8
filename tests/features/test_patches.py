"""Spectrogram → patches (SPEC §2) and the per-row normaliser."""

import warnings

import numpy as np
import pytest
import torch

from stasc.features.patches import (
    Normalizer,
    clip_normalize,
    clip_statistics,
    cut_patches,
    pad_to_width,
    patch_starts,
    resize_patches,
    sound_shares,
    sounding_frames,
    weighted_mean,
)


def test_paper_patch_counts() -> None:
    # SPEC §2: 431 frames / shift 32 → 11 patches; 862 / 64 → 13
    starts = patch_starts(431, width=128, shift=32)
    assert len(starts) == 11
    assert starts[:3] == [0, 32, 64] and starts[-1] == 431 - 128  # the end-aligned last patch
    assert len(patch_starts(862, width=128, shift=64)) == 13
    assert patch_starts(128 + 64, width=128, shift=64) == [0, 64]  # no extra patch when it fits exactly
    assert patch_starts(128, width=128, shift=32) == [0]
    assert patch_starts(100, width=128, shift=32) == [0]


def test_patch_starts_rejects_non_positive_width_and_shift() -> None:
    for width, shift in ((0, 32), (128, 0), (-1, 1)):
        with pytest.raises(ValueError, match=f"width={width}, shift={shift}"):
            patch_starts(431, width=width, shift=shift)


def test_cut_patches_values_and_shape() -> None:
    spec = torch.arange(2 * 4 * 431, dtype=torch.float32).reshape(2, 4, 431)
    patches = cut_patches(spec, width=128, shift=32)
    assert patches.shape == (2, 11, 4, 128)
    torch.testing.assert_close(patches[1, 3], spec[1, :, 96:224])
    torch.testing.assert_close(patches[0, -1], spec[0, :, -128:])


def test_short_spectrogram_is_zero_padded_on_the_right_without_a_warning() -> None:
    spec = torch.rand(2, 3, 4, 50) + 1.0  # no zeros of its own
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # callers report padding once per run; cut_patches stays quiet
        patches = cut_patches(spec, width=128, shift=32)
    assert patches.shape == (2, 3, 1, 4, 128)
    assert torch.equal(patches[..., 0, :, :50], spec)
    assert torch.count_nonzero(patches[..., 50:]) == 0


def test_pad_to_width_pads_only_what_is_short() -> None:
    spec = torch.rand(3, 4, 50) + 1.0
    padded = pad_to_width(spec, 64)
    assert padded.shape == (3, 4, 64)
    assert torch.equal(padded[..., :50], spec) and torch.count_nonzero(padded[..., 50:]) == 0
    assert pad_to_width(spec, 50) is spec and pad_to_width(spec, 10) is spec  # long enough: as is


def test_pad_to_width_repeats_the_clip_as_often_as_it_takes() -> None:
    spec = torch.rand(3, 4, 20) + 1.0
    padded = pad_to_width(spec, 64, "repeat")
    assert padded.shape == (3, 4, 64)
    for start in (0, 20, 40):  # three whole copies, then the first 4 frames a fourth time
        assert torch.equal(padded[..., start : start + 20], spec)
    assert torch.equal(padded[..., 60:], spec[..., :4])
    one_frame = torch.rand(2, 1)
    assert torch.equal(pad_to_width(one_frame, 5, "repeat"), one_frame.expand(2, 5))
    assert pad_to_width(spec, 20, "repeat") is spec  # long enough: as is
    patches = cut_patches(spec, width=64, shift=16, pad="repeat")
    assert patches.shape == (3, 1, 4, 64) and torch.equal(patches[:, 0], padded)


def test_pad_to_width_refuses_an_unknown_mode_and_an_empty_clip() -> None:
    with pytest.raises(ValueError, match="'zeros' or 'repeat'.*'reflect'"):
        pad_to_width(torch.rand(4, 10), 64, "reflect")
    with pytest.raises(ValueError, match="no frames"):
        pad_to_width(torch.rand(4, 0), 64, "repeat")


def floored(db: torch.Tensor, top_db: float = 80.0) -> torch.Tensor:
    """dB values floored ``top_db`` under their maximum, as the features floor them."""
    return torch.maximum(db, db.amax() - top_db)


def test_a_frame_sounds_when_its_loudest_row_is_above_the_floor() -> None:
    db = torch.full((4, 6), -200.0)  # digital silence: every row on the floor once floored
    db[:, 0] = 10.0  # the loudest moment sets the floor at -70
    db[2, 1] = -69.0  # one row a dB above the floor is enough
    db[:, 4] = -69.95  # within the margin of the floor: silence (float16 caches round by up to ~0.03 dB)
    db[1, 5] = -20.0
    assert sounding_frames(floored(db), 80.0).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    # per spectrogram (per view): a quiet view's floor is its own
    two_views = torch.stack([floored(db), floored(db - 30.0)])
    assert sounding_frames(two_views, 80.0).tolist() == [[1.0, 1.0, 0.0, 0.0, 0.0, 1.0]] * 2


def test_sound_shares_are_each_patch_s_sounding_frames() -> None:
    db = torch.zeros(3, 10)
    db[:, 5:] = -500.0  # the last 5 frames digital silence
    shares = sound_shares(floored(db), top_db=80.0, width=4, shift=2)
    assert patch_starts(10, width=4, shift=2) == [0, 2, 4, 6]
    torch.testing.assert_close(shares, torch.tensor([1.0, 0.75, 0.25, 0.0]))
    short = floored(torch.tensor([[0.0, 0.0, -500.0]]))  # shorter than a patch: padding counts as what it is
    assert sound_shares(short, top_db=80.0, width=4, shift=2).tolist() == [0.5]  # 2 of 4: zeros are silence
    assert sound_shares(short, top_db=80.0, width=4, shift=2, pad="repeat").tolist() == [0.75]  # 1, 1, 0, 1


def test_weighted_mean_weighs_patches_and_falls_back_to_the_mean() -> None:
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    torch.testing.assert_close(weighted_mean(probs, torch.tensor([1.0, 0.0, 0.0])), probs[0])
    torch.testing.assert_close(weighted_mean(probs, torch.tensor([0.5, 0.5, 0.0])), torch.tensor([0.55, 0.45]))
    torch.testing.assert_close(weighted_mean(probs, torch.zeros(3)), probs.mean(0))  # every patch silent
    torch.testing.assert_close(weighted_mean(probs, None), probs.mean(0))


def test_resize_cqt_patch_to_square() -> None:
    patches = torch.randn(3, 13, 110, 128)
    out = resize_patches(patches, (128, 128))
    assert out.shape == (3, 13, 128, 128)
    assert resize_patches(out, (128, 128)) is out
    constant = resize_patches(torch.full((1, 110, 128), 7.0), (128, 128))
    torch.testing.assert_close(constant, torch.full((1, 128, 128), 7.0))
    # bilinear along frequency only (the width is unchanged): a linear ramp over rows stays a linear ramp
    # inside (align_corners=False clamps the outermost half-pixel at each edge)
    ramp = resize_patches(torch.arange(110.0)[:, None].expand(110, 128).contiguous(), (128, 128))[:, 0]
    steps = ramp[2:-2].diff()
    torch.testing.assert_close(steps, torch.full_like(steps, 110 / 128), rtol=0, atol=1e-4)


def test_clip_normalize_removes_each_rows_mean_over_time() -> None:
    spec = torch.randn(3, 4, 50, dtype=torch.float64) + torch.arange(4.0, dtype=torch.float64)[:, None]
    out = clip_normalize(spec, "mean")
    torch.testing.assert_close(out.mean(-1), torch.zeros(3, 4, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(out.diff(dim=-1), spec.diff(dim=-1))  # only a per-row offset
    np.testing.assert_allclose(clip_normalize(spec.numpy(), "mean"), out.numpy())
    assert clip_normalize(spec, "none") is spec
    with pytest.raises(ValueError, match="one of 'none', 'mean', 'meanstd', got 'max'"):
        clip_normalize(spec, "max")


def test_clip_normalize_meanstd_gives_every_clip_one_dynamic_range() -> None:
    # two views of one clip: the second is the first with half its contrast (a higher noise floor, say) and a
    # level of its own; after "meanstd" both are the same, each row centred and the whole view of spread 1
    spec = torch.randn(4, 50, dtype=torch.float64) * 10 + torch.arange(4.0, dtype=torch.float64)[:, None]
    views = torch.stack([spec, spec / 2 - 30])
    out = clip_normalize(views, "meanstd")
    torch.testing.assert_close(out[0], out[1])
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 4, dtype=torch.float64), rtol=0, atol=1e-12)
    torch.testing.assert_close(out.square().mean((-2, -1)), torch.ones(2, dtype=torch.float64))
    # the shape of each row over time is kept: only a per-row offset and one scale per view
    centred = views - views.mean(-1, keepdim=True)
    ratio = out / centred
    torch.testing.assert_close(ratio, ratio[:, :1, :1].expand_as(ratio))
    np.testing.assert_allclose(clip_normalize(views.numpy(), "meanstd"), out.numpy())
    shift, scale = clip_statistics(views.numpy(), "meanstd")
    assert shift.shape == (2, 4, 1) and scale.shape == (2, 1, 1)
    np.testing.assert_allclose((views.numpy() - shift) / scale, out.numpy())


def test_clip_normalize_meanstd_leaves_a_constant_clip_at_zero() -> None:
    flat = torch.full((2, 3, 20), -80.0)  # all at the dB floor: no spread to divide by
    out = clip_normalize(flat, "meanstd")
    assert torch.isfinite(out).all() and (out == 0).all()
    assert np.isfinite(clip_normalize(flat.numpy(), "meanstd")).all()


def test_normalizer_fits_per_row_over_every_array_and_round_trips() -> None:
    rng = np.random.default_rng(0)
    # (rows, frames) arrays of different lengths, e.g. every view of every training clip
    arrays = [rng.normal(loc=np.arange(4)[:, None] * 10, scale=np.arange(1, 5)[:, None], size=(4, n))
              for n in (300, 17, 1000, 1)]
    norm = Normalizer.fit(arrays)
    assert norm.mean.shape == norm.std.shape == (4,) and norm.mean.dtype == norm.std.dtype == np.float32
    stacked = np.concatenate(arrays, axis=-1)
    # float64 accumulation, stored as float32: float32 rounding of the result only
    np.testing.assert_allclose(norm.mean, stacked.mean(-1), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(norm.std, stacked.std(-1), rtol=1e-6)
    again = Normalizer.from_dict(norm.to_dict())
    np.testing.assert_array_equal(again.mean, norm.mean)
    np.testing.assert_array_equal(again.std, norm.std)


def test_normalizer_fit_keeps_precision_over_many_frames() -> None:
    # a large offset with a small spread: E[x²] − E[x]² in float32 would lose the spread entirely
    arrays = [np.full((1, 10_000), 1e3, dtype=np.float32) + np.float32(0.01) * (-1.0) ** np.arange(10_000)
              for _ in range(20)]
    norm = Normalizer.fit(arrays)
    np.testing.assert_allclose(norm.std, [0.01], rtol=1e-3)  # float32 rounding of 1000.01 is ~6e-5 of 0.01


def test_normalizer_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no data"):
        Normalizer.fit([])
    with pytest.raises(ValueError, match="spectrogram with 5 rows, the first one had 4"):
        Normalizer.fit([np.zeros((4, 3)), np.zeros((5, 3))])
    with pytest.raises(ValueError, match=r"expected \(rows, frames\) arrays, got shape \(1, 4, 3\)"):
        Normalizer.fit([np.zeros((1, 4, 3))])
    with pytest.raises(ValueError, match="needs 'mean' and 'std'"):
        Normalizer.from_dict({"mean": [0.0]})
    with pytest.raises(ValueError, match=r"must both be \(rows,\)"):
        Normalizer(np.zeros((2, 4)), np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"mean \(3,\) and std \(4,\)"):
        Normalizer(np.zeros(3), np.ones(4))
    for std in ([1.0, 0.0], [1.0, np.nan]):
        with pytest.raises(ValueError, match="finite with a positive std"):
            Normalizer(np.zeros(2), np.array(std))
    # a constant row (the floor of a silent band) must not divide by zero
    constant = Normalizer.fit([np.ones((2, 10))])
    assert (constant.std > 0).all() and np.isfinite(constant.std).all()
