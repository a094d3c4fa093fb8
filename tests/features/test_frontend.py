"""The one front end: views → spectrograms → clip normalisation → normaliser → patches → resize → stack."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from stasc.audio import load_views
from stasc.config import InputConfig
from stasc.features.frontend import FrontEnd
from stasc.features.patches import (
    Normalizer,
    clip_normalize,
    clip_statistics,
    cut_patches,
    patch_starts,
    resize_patches,
)


def normalizers_for(config: InputConfig, seed: int = 0) -> list[Normalizer]:
    """Per-row statistics that differ from row to row, so a row mix-up would show."""
    rng = np.random.default_rng(seed)
    return [Normalizer(rng.normal(-20, 5, spec.n_rows), rng.uniform(2, 10, spec.n_rows)) for spec in config.features]


@pytest.fixture(scope="module")
def stereo_views(tut_clips: list[Path]) -> torch.Tensor:
    """Two real recordings of 3 s as (W, V, samples): views L, R, mid at 44.1 kHz."""
    return torch.stack([load_views(clip, 44100)[:, : 3 * 44100] for clip in tut_clips[:2]])


SMALL_MFCC = {"kind": "mfcc", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 40, "n_mfcc": 20}
SMALL_LOGMEL = {"kind": "logmel", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 40}


@pytest.mark.parametrize("clip_norm", ["none", "mean", "meanstd"])
def test_forward_is_the_composition_of_the_steps(clip_norm: str) -> None:
    config = InputConfig.parse({"features": [SMALL_MFCC], "patch_width": 32, "patch_shift": 8,
                                "patch_size": [24, 32], "clip_norm": clip_norm})
    normalizers = normalizers_for(config)
    front = FrontEnd(config, normalizers)
    views = torch.randn(2, 3, 8000)
    out = front(views)
    # by hand from the pure pieces: the transform, clip normalisation, (x − mean) / std, cut, resize
    spectrogram = front.transforms[0](views)  # W, V, R, T
    assert spectrogram.shape == (2, 3, 20, 126)
    mean, std = torch.from_numpy(normalizers[0].mean)[:, None], torch.from_numpy(normalizers[0].std)[:, None]
    normalized = (clip_normalize(spectrogram, clip_norm) - mean) / std
    patches = resize_patches(cut_patches(normalized, width=32, shift=8), (24, 32))  # W, V, P, H, Wd
    expected = patches.flatten(1, 2)[:, :, None]  # W, V·P, C, H, Wd
    assert out.shape == expected.shape == (2, 3 * len(patch_starts(126, width=32, shift=8)), 1, 24, 32)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)  # the same operations in the same order
    # and the steps one by one give it too
    torch.testing.assert_close(front.patches(front.normalized(front.spectrograms(views))), out, rtol=0, atol=0)
    torch.testing.assert_close(front.normalize(0, spectrogram), (spectrogram - front.mean_0) / front.std_0)


@pytest.mark.parametrize("clip_norm", ["none", "mean", "meanstd"])
@pytest.mark.parametrize(("samples", "pad"), [(8000, "zeros"), (1500, "zeros"), (1500, "repeat")])
def test_a_cached_patch_equals_the_patch_forward_cuts(clip_norm: str, samples: int, pad: str) -> None:
    # two stacked features of 20 and 40 rows, both resized to 24; 1500 samples: 24 frames, shorter than a patch
    config = InputConfig.parse({"features": [SMALL_MFCC, SMALL_LOGMEL], "patch_width": 32, "patch_shift": 8,
                                "patch_size": [24, 32], "clip_norm": clip_norm, "short_clip_pad": pad})
    front = FrontEnd(config, normalizers_for(config, seed=1))
    views = torch.randn(1, 3, samples)
    forward = front(views)[0]  # V·P, C, H, Wd
    cached = [s[0].numpy() for s in front.spectrograms(views)]  # what the cache holds: (V, R, T) per feature
    frames = cached[0].shape[-1]
    starts = patch_starts(frames, width=32, shift=8)
    assert forward.shape == (3 * len(starts), 2, 24, 32)
    for view in range(3):
        # the whole view's clip statistics, as the training dataset reads them once per view
        statistics = [clip_statistics(c[view], clip_norm) for c in cached] if clip_norm != "none" else None
        for p, start in enumerate(starts):
            windows = [c[view][:, start : start + 32] for c in cached]  # ≤ 32 frames: the short clip's is shorter
            patch = front.cached_patch(windows, statistics)
            assert patch.shape == (2, 24, 32)
            # float32: the mean over the whole view is the same number, subtracted before instead of
            # inside the normaliser's division (measured ≤ 1e-6)
            torch.testing.assert_close(patch, forward[view * len(starts) + p], rtol=0, atol=1e-5)


def test_one_feature_and_two_stacked_features_give_the_network_input(stereo_views: torch.Tensor) -> None:
    one = InputConfig.parse({"features": ["mfcc2048"]})
    out = FrontEnd(one, normalizers_for(one))(stereo_views)
    # 3 s at hop 1024: 130 frames → patches at 0 and the end-aligned 2 (shift 32); 3 views each
    assert out.shape == (2, 3 * 2, 1, 128, 128) and out.dtype == torch.float32
    two = InputConfig.parse({"features": ["cqt", "mfcc1024"], "patch_shift": 64})
    front = FrontEnd(two, normalizers_for(two))
    out = front(stereo_views)
    # 3 s at hop 512: 259 frames → starts 0, 64, 128 and the end-aligned 131; the CQT's 110 bins resized to 128
    assert out.shape == (2, 3 * 4, 2, 128, 128)
    spectrograms = front.spectrograms(stereo_views)
    assert [tuple(s.shape) for s in spectrograms] == [(2, 3, 110, 259), (2, 3, 128, 259)]
    normalized = front.normalized(spectrograms)
    first_cqt_patch = resize_patches(normalized[0][1, 2, :, 64:192], (128, 128))  # recording 1, mid, patch 1
    torch.testing.assert_close(out[1, 2 * 4 + 1, 0], first_cqt_patch, rtol=0, atol=0)
    torch.testing.assert_close(out[1, 2 * 4 + 1, 1], normalized[1][1, 2, :, 64:192], rtol=0, atol=0)  # no resize


def test_gain_directions_are_the_responses_as_the_network_sees_them() -> None:
    config = InputConfig.parse({"features": ["cqt", "mfcc1024"], "patch_shift": 64})
    normalizers = normalizers_for(config, seed=2)
    directions = FrontEnd(config, normalizers).gain_directions()
    assert directions.shape == (2, 128, 1)
    torch.testing.assert_close(directions[0], torch.zeros(128, 1), rtol=0, atol=0)  # a CQT does not move
    # the MFCC's c0 moves by sqrt(n_mels) dB per dB, divided by c0's std; the other rows by ~0
    assert directions[1, 0, 0].item() == pytest.approx(math.sqrt(128) / normalizers[1].std[0], rel=1e-5)
    assert directions[1, 1:].abs().max() < 1e-5


def test_normalisers_must_fit_the_features() -> None:
    config = InputConfig.parse({"features": ["cqt", "mfcc1024"], "patch_shift": 64})
    good = normalizers_for(config)
    with pytest.raises(ValueError, match="a normaliser of 128 rows for cqt \\(110 rows\\)"):
        FrontEnd(config, [good[1], good[1]])
    with pytest.raises(ValueError, match="a normaliser of 20 rows for mfcc1024 \\(128 rows\\)"):
        FrontEnd(config, [good[0], Normalizer(np.zeros(20), np.ones(20))])
    with pytest.raises(ValueError, match="1 normalisers for 2 features"):
        FrontEnd(config, good[:1])
