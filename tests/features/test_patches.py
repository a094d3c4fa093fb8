import numpy as np
import pytest
import torch

from stasc.features.patches import Normalizer, cut_patches, patch_starts, resize_patches


def test_paper_patch_counts() -> None:
    # SPEC §2: 431 frames / shift 32 → 11 patches; 862 / 64 → 13
    starts = patch_starts(431, width=128, shift=32)
    assert len(starts) == 11
    assert starts[:3] == [0, 32, 64] and starts[-1] == 431 - 128  # the end-aligned last patch
    assert len(patch_starts(862, width=128, shift=64)) == 13
    assert patch_starts(128 + 64, width=128, shift=64) == [0, 64]  # no extra patch when it fits exactly
    assert patch_starts(100, width=128, shift=32) == [0]


def test_cut_patches_values_and_shape() -> None:
    spec = torch.arange(2 * 4 * 431, dtype=torch.float32).reshape(2, 4, 431)
    patches = cut_patches(spec, width=128, shift=32)
    assert patches.shape == (2, 11, 4, 128)
    torch.testing.assert_close(patches[1, 3], spec[1, :, 96:224])
    torch.testing.assert_close(patches[0, -1], spec[0, :, -128:])


def test_short_spectrogram_is_padded_with_a_warning() -> None:
    with pytest.warns(UserWarning, match="fewer than the patch width 128: zero-padded"):
        patches = cut_patches(torch.ones(1, 4, 50), width=128, shift=32)
    assert patches.shape == (1, 1, 4, 128)
    assert patches[..., 50:].abs().sum() == 0


def test_resize_cqt_patch_to_square() -> None:
    patches = torch.randn(3, 13, 110, 128)
    out = resize_patches(patches, (128, 128))
    assert out.shape == (3, 13, 128, 128)
    assert resize_patches(out, (128, 128)) is out
    constant = resize_patches(torch.full((1, 110, 128), 7.0), (128, 128))
    torch.testing.assert_close(constant, torch.full((1, 128, 128), 7.0))


def test_normalizer_fits_per_coefficient_and_round_trips(tmp_path) -> None:
    rng = np.random.default_rng(0)
    clips = [rng.normal(loc=np.arange(4)[None, :, None], scale=2.0, size=(2, 4, 300)) for _ in range(5)]
    norm = Normalizer.fit(clips)
    assert norm.mean.shape == (2, 4)
    stacked = np.concatenate(clips, axis=-1)
    np.testing.assert_allclose(norm.mean, stacked.mean(-1), rtol=1e-5)
    np.testing.assert_allclose(norm.std, stacked.std(-1), rtol=1e-4)
    out = norm.apply(torch.from_numpy(stacked).float())
    np.testing.assert_allclose(out.mean(-1).numpy(), 0, atol=1e-4)
    norm.save(tmp_path / "norm.json")
    again = Normalizer.load(tmp_path / "norm.json")
    np.testing.assert_array_equal(again.mean, norm.mean)


def test_normalizer_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="no data"):
        Normalizer.fit([])
    with pytest.raises(ValueError, match="differs"):
        Normalizer.fit([np.zeros((1, 4, 3)), np.zeros((1, 5, 3))])
    with pytest.raises(ValueError, match="lacks"):
        Normalizer.from_dict({"mean": [[0.0]]})
    # a constant coefficient must not divide by zero
    assert np.isfinite(Normalizer.fit([np.ones((1, 2, 10))]).std).all()
