"""CQT parity with librosa 0.11 on the real TUT clips, its settings, and the batching contract."""

import warnings
from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from stasc.config import ConfigError
from stasc.features import parse_feature
from stasc.features.cqt import C1_HZ, ConstantQTransform, amplitude_to_db, halve_rate_sinc, halve_rate_soxr
from stasc.features.kinds.cqt import CQT, CQTSettings


def views_44k(path: Path) -> np.ndarray:
    data, rate = sf.read(path, dtype="float64")
    stereo = soxr.resample(data, rate, 44100, quality="HQ").T
    return np.stack([stereo[0], stereo[1], 0.5 * (stereo[0] + stereo[1])])


def librosa_cqt_db(view: np.ndarray, *, fmin: float | None = None, n_bins: int = 110) -> np.ndarray:
    # every default pinned: fmin C1, 12 bins per octave, no tuning estimate, Hann, scale, constant
    # padding, soxr_hq, sparsity 0.01
    magnitude = np.abs(librosa.cqt(
        view, sr=44100, hop_length=512, fmin=librosa.note_to_hz("C1") if fmin is None else fmin, n_bins=n_bins,
        bins_per_octave=12, tuning=0.0, filter_scale=4, norm=1, sparsity=0.01, window="hann", scale=True,
        pad_mode="constant", res_type="soxr_hq",
    ))
    return librosa.amplitude_to_db(magnitude, ref=np.max, amin=1e-5, top_db=80.0)


def test_the_paper_cqt_settings() -> None:
    settings = parse_feature("cqt")
    assert isinstance(settings, CQTSettings) and settings.label == "cqt"
    assert (settings.sample_rate, settings.hop_length) == (44100, 512)
    assert (settings.n_bins, settings.bins_per_octave) == (110, 12)
    assert (settings.fmin, settings.filter_scale, settings.resampler, settings.top_db) == (None, 4.0, "soxr", 80.0)
    assert settings.n_rows == 110 and settings.frames(441000) == 862


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cqt_matches_librosa_on_every_real_clip(tut_clips: list[Path], dtype: torch.dtype) -> None:
    transform = CQT(parse_feature("cqt")).to(dtype)
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
    # the same filters and resampler: measured worst mean 2.0e-5 dB and p99 2.0e-4 dB (float32; float64
    # 8e-6 and 1.6e-4: float rounding in the dB of near-floor bins). 5x that, so a filter or scaling
    # that drifts fails here; the bounds (mean 0.2 dB, p99 1 dB) are 1000x looser
    assert max(means) <= 1e-4
    assert max(p99s) <= 1e-3


def test_changed_fmin_and_bins_match_librosa(tut_clips: list[Path]) -> None:
    view = views_44k(tut_clips[5])[0, : 2 * 44100]
    fmin = float(librosa.note_to_hz("C2"))
    settings = parse_feature({"name": "cqt", "fmin": fmin, "n_bins": 98})
    assert settings.label == "cqt" and settings != parse_feature("cqt")  # the kind's name, not the paper's feature
    ours = CQT(settings).double()(torch.from_numpy(view)[None])[0].numpy()
    ref = librosa_cqt_db(view, fmin=fmin, n_bins=98)
    assert ours.shape == ref.shape == (98, 173)
    delta = np.abs(ours - ref)
    # float64, the same filters: measured mean 7e-7 dB, max 2e-5 dB (near-floor bins); a wrong fmin
    # would move every bin by dB
    assert delta.mean() <= 1e-5 and delta.max() <= 1e-3


def test_fmin_none_is_librosas_c1() -> None:
    assert pytest.approx(librosa.note_to_hz("C1"), rel=1e-15) == C1_HZ
    signal = torch.randn(1, 8000, dtype=torch.float64)
    default = ConstantQTransform(22050, hop_length=256, n_bins=48).double()(signal)
    explicit = ConstantQTransform(22050, hop_length=256, n_bins=48, fmin=C1_HZ).double()(signal)
    torch.testing.assert_close(default, explicit, rtol=0, atol=0)
    assert not torch.equal(default, ConstantQTransform(22050, hop_length=256, n_bins=48, fmin=40.0).double()(signal))


def test_module_magnitude_is_the_modulus_of_the_complex_response() -> None:
    signal = torch.randn(2, 22050 * 2, dtype=torch.float64)
    module = ConstantQTransform(22050, hop_length=256, n_bins=84).double()
    real, imag = module.complex_response(signal)
    assert real.shape == imag.shape == (2, 84, 1 + 2 * 22050 // 256)
    torch.testing.assert_close(module(signal), torch.sqrt(real.square() + imag.square()), rtol=0, atol=0)


def test_the_kind_is_the_module_in_db_per_view() -> None:
    settings = parse_feature({"kind": "cqt", "sample_rate": 22050, "hop_length": 256, "n_bins": 84, "top_db": 60.0})
    transform = CQT(settings)
    views = torch.randn(2, 3, 22050)
    views[1, 2] *= 1e-3  # a quiet view: its dB are relative to its own maximum
    ours = transform(views)
    assert ours.shape == (2, 3, 84, 87)
    module = ConstantQTransform(22050, hop_length=256, n_bins=84, filter_scale=4.0)
    for clip in range(2):
        for view in range(3):
            expected = amplitude_to_db(module(views[clip, view]), top_db=60.0)
            # float32, the same numbers: a recording's views share one conv1d per octave (measured 1.4e-4 dB)
            torch.testing.assert_close(ours[clip, view], expected, rtol=0, atol=1e-3)
            assert ours[clip, view].max() == 0 and ours[clip, view].min() >= -60.0


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
        # float32: soxr halves all rows in one call and conv1d runs batched; measured 6e-6 on magnitudes up to 3.6
        torch.testing.assert_close(batched[i], transform(signals[i]), rtol=1e-5, atol=1e-5)


def test_mid_and_repeated_views_share_the_transform_and_give_the_plain_numbers(tut_clips: list[Path]) -> None:
    from stasc.audio import channel_views, load_views

    transform = CQT(parse_feature("cqt"))
    stereo = load_views(tut_clips[2], 44100)[:2, :44100]
    calls = []
    response = transform.cqt.complex_response
    transform.cqt.complex_response = lambda x: calls.append(x.shape[0]) or response(x)  # type: ignore[method-assign]
    for views, computed in ((channel_views(stereo), [2]), (channel_views(stereo[:1], mono_views=3), [1])):
        calls.clear()
        shared = transform(views)
        assert calls == computed  # left and right only; the mono signal once
        one_by_one = torch.cat([transform(views[v : v + 1]) for v in range(3)])
        # the mid's response from left and right rounds differently from its own: measured 1.1e-3 dB
        # in float32 (bins near the -80 dB floor)
        torch.testing.assert_close(shared, one_by_one, rtol=0, atol=3e-3)


def test_cqt_short_signal_against_librosa() -> None:
    y = np.random.default_rng(1).standard_normal(3000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # librosa: n_fft too large for the low octaves' signal
        ref = np.abs(librosa.cqt(
            y, sr=22050, hop_length=256, fmin=librosa.note_to_hz("C1"), n_bins=48, bins_per_octave=12, tuning=0.0,
            filter_scale=1, norm=1, sparsity=0.01, window="hann", scale=True, pad_mode="constant", res_type="soxr_hq",
        ))
    ours = ConstantQTransform(22050, hop_length=256, n_bins=48, filter_scale=1.0).double()(torch.from_numpy(y)).numpy()
    assert ours.shape == ref.shape == (48, 12)
    # float64 with librosa's complex64-sparsified filters on both sides: measured 5.6e-8 of the maximum
    np.testing.assert_allclose(ours, ref, rtol=0, atol=5e-7 * ref.max())


def test_sinc_resampler_stays_within_the_parity_bounds(tut_clips: list[Path]) -> None:
    # the GPU-resident path: each octave halves the rate with a torch windowed-sinc filter, not soxr
    settings = parse_feature({"name": "cqt", "resampler": "sinc"})
    transform = CQT(settings)
    assert transform.cqt.resampler == "sinc" and CQT(parse_feature("cqt")).cqt.resampler == "soxr"
    means, p99s = [], []
    for clip in tut_clips[:4]:
        view = views_44k(clip)[:1]
        ref = librosa_cqt_db(view[0].astype(np.float32))
        ours = transform(torch.from_numpy(view).float())[0].double().numpy()
        delta = np.abs(ours - ref)
        means.append(delta.mean())
        p99s.append(np.percentile(delta, 99))
    print(f"CQT, sinc resampler: worst mean |Δ| {max(means):.4f} dB, worst p99 {max(p99s):.4f} dB")
    # another half-band filter than soxr's: measured worst mean 0.0056 dB and p99 0.068 dB; 3x that
    # (the bounds for every device, mean 0.2 dB and p99 1 dB, would hide a broken filter)
    assert max(means) <= 0.02 and max(p99s) <= 0.2


def test_half_band_filters_keep_a_tone_and_halve_the_length() -> None:
    t = np.arange(44100) / 44100
    tone = torch.from_numpy(np.sin(2 * np.pi * 440 * t))[None]
    high = torch.from_numpy(np.sin(2 * np.pi * 0.45 * 44100 * t))[None]  # above the new Nyquist (11025 Hz)
    for halve in (halve_rate_soxr, halve_rate_sinc):
        out = halve(tone)
        assert out.shape == (1, 22050) and out.dtype == tone.dtype
        # scaled by √2 (librosa's scale=True), so a unit sine keeps RMS √2 · 1/√2 = 1 inside
        assert abs(float(out[0, 2000:-2000].pow(2).mean().sqrt()) - 1.0) < 1e-3
        # and a tone above the halved rate's Nyquist is removed, not folded back (measured < 1e-6, -120 dB)
        assert float(halve(high)[0, 2000:-2000].pow(2).mean().sqrt()) < 1e-4


def test_amplitude_to_db_matches_librosa_per_spectrogram() -> None:
    scale = torch.tensor([1.0, 1e-3], dtype=torch.float64)[:, None, None]
    magnitude = torch.rand(2, 10, 20, dtype=torch.float64) * scale
    ours = amplitude_to_db(magnitude)
    for i in range(2):
        ref = librosa.amplitude_to_db(magnitude[i].numpy(), ref=np.max, amin=1e-5, top_db=80.0)
        np.testing.assert_allclose(ours[i].numpy(), ref, rtol=0, atol=1e-10)  # float64, the same formula


def test_cqt_settings_and_module_refuse_bad_values() -> None:
    with pytest.raises(ValueError, match="above the Nyquist frequency"):
        ConstantQTransform(8000, n_bins=110)
    with pytest.raises(ValueError, match="resampler must be 'soxr' or 'sinc', got 'torch'"):
        ConstantQTransform(22050, n_bins=48, resampler="torch")
    with pytest.raises(ConfigError, match="resampler: input should be 'soxr' or 'sinc', got 'torch'"):
        parse_feature({"kind": "cqt", "resampler": "torch"})
    # the old name of librosa's fmin is refused, with the field it now has among the known keys
    with pytest.raises(ConfigError, match=r"unknown config key cqt_fmin; known keys: .*fmin"):
        parse_feature({"name": "cqt", "cqt_fmin": 32.7})
    with pytest.raises(ConfigError, match="fmin: input should be greater than 0, got -1"):
        parse_feature({"kind": "cqt", "fmin": -1})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cqt_on_cuda_gives_the_cpu_numbers_with_soxr() -> None:
    transform = CQT(parse_feature("cqt"))
    views = torch.randn(1, 3, 44100)
    on_gpu = transform.to("cuda")(views.cuda())
    assert on_gpu.device.type == "cuda"
    # soxr on the CPU on every device, convolutions in full float32 (no TF32): float32 rounding only
    torch.testing.assert_close(on_gpu.cpu(), transform.cpu()(views), rtol=0, atol=3e-3)
