"""CQT parity with librosa 0.11 on the real TUT clips, and the batching contract."""

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from stasc.features.cqt import ConstantQTransform, amplitude_to_db, cqt_magnitude, halve_rate_sinc, halve_rate_soxr
from stasc.features.spec import FeatureSpec
from stasc.features.transforms import CQT


def views_44k(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float64")
    stereo = soxr.resample(data, rate, 44100, quality="HQ").T
    return np.stack([stereo[0], stereo[1], 0.5 * (stereo[0] + stereo[1])])


def librosa_cqt_db(view: np.ndarray) -> np.ndarray:
    # every default pinned: fmin C1, 12 bins per octave, Hann, scale, constant padding, soxr_hq, sparsity 0.01
    magnitude = np.abs(librosa.cqt(
        view, sr=44100, hop_length=512, fmin=librosa.note_to_hz("C1"), n_bins=110, bins_per_octave=12,
        tuning=0.0, filter_scale=4, norm=1, sparsity=0.01, window="hann", scale=True, pad_mode="constant",
        res_type="soxr_hq",
    ))
    return librosa.amplitude_to_db(magnitude, ref=np.max, amin=1e-5, top_db=80.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cqt_matches_librosa_on_every_real_clip(tut_clips: list[Path], dtype: torch.dtype) -> None:
    transform = CQT(FeatureSpec.named("cqt")).to(dtype)
    means, p99s = [], []
    for clip in tut_clips:
        views = views_44k(clip)
        ref = np.stack([librosa_cqt_db(v.astype(np.float32 if dtype == torch.float32 else np.float64)) for v in views])
        ours = transform(torch.from_numpy(views).to(dtype)).double().numpy()
        assert ours.shape == ref.shape == (3, 110, 862)
        delta = np.abs(ours - ref)
        means.append(delta.mean())
        p99s.append(np.percentile(delta, 99))
    print(f"CQT {dtype}: worst clip mean |Δ| {max(means):.2e} dB, worst p99 {max(p99s):.2e} dB")
    # the bounds (mean 0.2 dB, p99 1 dB); the same filters and resampler give ~1e-4 dB
    # (float rounding in the dB of near-floor bins), so the bounds hold with a wide margin
    assert max(means) <= 0.2
    assert max(p99s) <= 1.0
    assert max(means) <= 1e-2  # guards the exactness: a drifting filter would show here first


def test_cqt_magnitude_functional_equals_module() -> None:
    signal = torch.randn(2, 22050 * 2, dtype=torch.float64)
    module = ConstantQTransform(22050, hop_length=256, n_bins=84).double()
    torch.testing.assert_close(cqt_magnitude(signal, 22050, hop_length=256, n_bins=84), module(signal))


@pytest.mark.parametrize("n_samples", [5000, 44100, 44101, 100001])
def test_cqt_shapes_for_odd_lengths(n_samples: int) -> None:
    transform = ConstantQTransform(22050, hop_length=256, n_bins=84)
    out = transform(torch.randn(2, 3, n_samples))
    assert out.shape == (2, 3, 84, 1 + n_samples // 256)


def test_cqt_batched_equals_item_by_item() -> None:
    torch.manual_seed(0)
    signals = torch.randn(4, 22050)
    transform = ConstantQTransform(22050, hop_length=256, n_bins=72)
    batched = transform(signals)
    for i in range(4):
        torch.testing.assert_close(batched[i], transform(signals[i]), rtol=1e-5, atol=1e-6)


def test_mid_and_repeated_views_share_the_transform_and_give_the_plain_numbers(tut_clips: list[Path]) -> None:
    from stasc.audio import channel_views, load_views

    transform = CQT(FeatureSpec.named("cqt"))
    stereo = load_views(tut_clips[2], 44100)[:2, :44100]
    calls = []
    response = transform.cqt.complex_response
    transform.cqt.complex_response = lambda x: calls.append(x.shape[0]) or response(x)  # type: ignore[method-assign]
    for views, computed in ((channel_views(stereo), [2]), (channel_views(stereo[:1], mono_views=3), [1])):
        calls.clear()
        shared = transform(views)
        assert calls == computed  # left and right only; the mono signal once
        one_by_one = torch.cat([transform(views[v : v + 1]) for v in range(3)])
        # the mid's response from left and right rounds differently from its own: ~1e-4 dB in float32
        torch.testing.assert_close(shared, one_by_one, rtol=0, atol=5e-3)


def test_cqt_short_signal_against_librosa() -> None:
    y = np.random.default_rng(1).standard_normal(3000)
    ref = np.abs(librosa.cqt(y, sr=22050, hop_length=256, n_bins=48))
    ours = ConstantQTransform(22050, hop_length=256, n_bins=48, filter_scale=1.0).double()(torch.from_numpy(y)).numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7 * ref.max())


def test_gpu_resampler_path_stays_within_the_parity_bounds(tut_clips: list[Path]) -> None:
    # on a GPU the rate is halved by a torch windowed-sinc filter instead of soxr; run that path here
    transform = ConstantQTransform(44100, hop_length=512, n_bins=110, filter_scale=4, resampler="sinc")
    means, p99s = [], []
    for clip in tut_clips[:4]:
        views = views_44k(clip)[:1]
        ref = librosa_cqt_db(views[0].astype(np.float32))
        ours = amplitude_to_db(transform(torch.from_numpy(views).float()))[0].double().numpy()
        delta = np.abs(ours - ref)
        means.append(delta.mean())
        p99s.append(np.percentile(delta, 99))
    print(f"CQT, torch resampler: worst mean |Δ| {max(means):.3f} dB, worst p99 {max(p99s):.3f} dB")
    # the bounds apply to every device
    assert max(means) <= 0.2 and max(p99s) <= 1.0


def test_half_band_filters_keep_a_tone_and_halve_the_length() -> None:
    t = np.arange(44100) / 44100
    tone = torch.from_numpy(np.sin(2 * np.pi * 440 * t))[None]
    for halve in (halve_rate_soxr, halve_rate_sinc):
        out = halve(tone)
        assert out.shape == (1, 22050)
        # scaled by √2 (librosa's scale=True), so a unit sine keeps RMS √2 · 1/√2 = 1 inside
        assert abs(float(out[0, 2000:-2000].pow(2).mean().sqrt()) - 1.0) < 1e-3


def test_amplitude_to_db_matches_librosa_per_spectrogram() -> None:
    magnitude = torch.rand(2, 10, 20, dtype=torch.float64) * torch.tensor([1.0, 1e-3], dtype=torch.float64)[:, None, None]
    ours = amplitude_to_db(magnitude)
    for i in range(2):
        np.testing.assert_allclose(ours[i].numpy(), librosa.amplitude_to_db(magnitude[i].numpy(), ref=np.max))


def test_cqt_above_nyquist_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="above the Nyquist frequency"):
        ConstantQTransform(8000, n_bins=110)
