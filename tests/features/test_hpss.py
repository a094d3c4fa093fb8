"""HPSS and HPSS-MFCC parity with librosa 0.11 on the real TUT clips."""

from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.ndimage
import soundfile as sf
import soxr
import torch

from stasc.features.hpss import hpss, median_filter, reflect_indices
from stasc.features.spec import FeatureSpec
from stasc.features.transforms import HPSSMFCC


def views_44k(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float64")
    stereo = soxr.resample(data, rate, 44100, quality="HQ").T
    return np.stack([stereo[0], stereo[1], 0.5 * (stereo[0] + stereo[1])])


def rel(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))


def test_hpss_waveforms_match_librosa_on_real_clips(tut_clips: list[Path]) -> None:
    worst = 0.0
    for clip in tut_clips[:3]:
        views = views_44k(clip)
        harmonic, percussive = hpss(torch.from_numpy(views))
        for i, view in enumerate(views):
            ref_h, ref_p = librosa.effects.hpss(view, kernel_size=31, power=2.0, margin=1.0, n_fft=2048, hop_length=512)
            worst = max(worst, rel(harmonic[i].numpy(), ref_h), rel(percussive[i].numpy(), ref_p))
    print(f"HPSS float64: worst relative error {worst:.1e}")
    # same STFT, exact medians and the same masks: only float64 rounding (~1e-15) remains
    assert worst <= 1e-10


def test_hpss_mfcc_matches_librosa_on_every_real_clip(tut_clips: list[Path]) -> None:
    transform = HPSSMFCC(FeatureSpec.named("hpss_mfcc2048"))
    worst = 0.0
    for clip in tut_clips:
        views = views_44k(clip)
        ours = transform(torch.from_numpy(views).float()).double().numpy()
        assert ours.shape == (6, 128, 431)  # L-h, L-p, R-h, R-p, mid-h, mid-p
        ref = []
        for view in views.astype(np.float32):
            for part in librosa.effects.hpss(view, kernel_size=31):
                ref.append(librosa.feature.mfcc(y=part, sr=44100, n_mfcc=128, n_fft=2048, hop_length=1024))
        worst = max(worst, rel(ours, np.stack(ref)))
    print(f"HPSS-MFCC float32: worst relative Frobenius error {worst:.1e}")
    # float32 on both sides; rounding in the masks and the dB gives ~5e-7; the bound is 1e-4
    assert worst <= 1e-4


@pytest.mark.parametrize("shape,dim", [((3, 40, 50), -1), ((3, 40, 50), -2), ((2, 5, 7), -1), ((4, 3), 0)])
def test_median_filter_equals_scipy_reflect(shape: tuple[int, ...], dim: int) -> None:
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 5, size=shape).astype(np.float32))  # many ties
    size = [1] * len(shape)
    size[dim] = 31
    expected = scipy.ndimage.median_filter(x.numpy(), size=size, mode="reflect")
    np.testing.assert_array_equal(median_filter(x, 31, dim=dim).numpy(), expected)


def test_reflect_indices_repeat_the_edge() -> None:
    assert reflect_indices(4, 3).tolist() == [2, 1, 0, 0, 1, 2, 3, 3, 2, 1]


@pytest.mark.parametrize("n_samples", [1000, 22050, 22051])
def test_shapes_and_batched_equals_item_by_item(n_samples: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, n_samples, dtype=torch.float64)
    harmonic, percussive = hpss(x)
    assert harmonic.shape == percussive.shape == x.shape
    h1, p1 = hpss(x[1, 2])
    torch.testing.assert_close(harmonic[1, 2], h1)
    torch.testing.assert_close(percussive[1, 2], p1)


def test_margin_one_parts_sum_to_the_signal_away_from_the_edges() -> None:
    # with margin 1 the masks sum to 1, so h + p reconstructs y (up to the STFT round trip)
    x = torch.randn(22050, dtype=torch.float64)
    harmonic, percussive = hpss(x)
    torch.testing.assert_close(harmonic + percussive, x, rtol=1e-9, atol=1e-9)


def test_margin_above_one_matches_librosa_and_bad_margin_is_refused() -> None:
    y = np.random.default_rng(2).standard_normal(20000)
    ref_h, ref_p = librosa.effects.hpss(y, kernel_size=31, margin=3.0)
    harmonic, percussive = hpss(torch.from_numpy(y), margin=3.0)
    assert rel(harmonic.numpy(), ref_h) < 1e-10 and rel(percussive.numpy(), ref_p) < 1e-10
    with pytest.raises(ValueError, match="margin must be >= 1"):
        hpss(torch.from_numpy(y), margin=0.5)
    with pytest.raises(ValueError, match="positive odd"):
        median_filter(torch.zeros(3, 3), 4, dim=0)
