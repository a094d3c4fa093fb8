"""HPSS parity with librosa 0.11 on the real TUT clips, exact median filters, and the batching contract."""

import warnings
from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.ndimage
import soundfile as sf
import soxr
import torch

import stasc.features.hpss as hpss_module
from stasc.config import ConfigError
from stasc.features import parse_feature
from stasc.features.hpss import hpss, median_filter
from stasc.features.kinds.hpss_mfcc import HPSSMFCC, HPSSMFCCSettings
from stasc.features.kinds.mfcc import MFCC


def left_and_mid_44k(path: Path) -> np.ndarray:
    """(2, samples) float64 views left and mid = (L + R) / 2 at 44.1 kHz."""
    data, rate = sf.read(path, dtype="float64")
    stereo = soxr.resample(data, rate, 44100, quality="HQ").T
    return np.stack([stereo[0], 0.5 * (stereo[0] + stereo[1])])


def librosa_hpss(y: np.ndarray, *, margin: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    # every default pinned on the reference side, so a librosa default change cannot move it
    return librosa.effects.hpss(
        y, kernel_size=31, power=2.0, mask=False, margin=margin, n_fft=2048, hop_length=512, win_length=2048,
        window="hann", center=True, pad_mode="constant",
    )


def librosa_mfcc(y: np.ndarray) -> np.ndarray:
    """SPEC §2 ``mfcc2048`` with every default pinned (the mel filters in float64)."""
    return librosa.feature.mfcc(
        y=y, sr=44100, n_mfcc=128, n_fft=2048, hop_length=1024, win_length=None, window="hann", center=True,
        pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None, htk=False, mel_norm="slaney", norm="ortho",
        dct_type=2, lifter=0, dtype=np.float64,
    )


def relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "shape,dim",
    [((2, 300, 257), -1), ((2, 300, 257), -2), ((3, 16, 5, 7), 1), ((40,), 0), ((16, 1), -2), ((9, 16), -1)],
)
@pytest.mark.parametrize("size", [1, 3, 5, 17, 31])
def test_median_filter_equals_scipy_exactly(shape: tuple[int, ...], dim: int, size: int, dtype: torch.dtype) -> None:
    x = torch.from_numpy(np.random.default_rng(size).random(shape)).to(dtype)
    x[..., ::7] = 0.25  # ties
    footprint = [1] * len(shape)
    footprint[dim] = size
    ref = scipy.ndimage.median_filter(x.numpy(), size=footprint, mode="reflect")
    ours = median_filter(x, size, dim=dim, lane_elements=300)  # small chunks: chunk edges are crossed
    # exact: a median is one of the inputs and the filter only compares values (min/max)
    assert ours.dtype == x.dtype and np.array_equal(ours.numpy(), ref)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8])
def test_median_filter_reflects_repeatedly_on_short_axes(n: int) -> None:
    # scipy's n-d filters read outside the array when the pad reaches 2n (pad 15: n < 8), so the
    # reference here is the reflection itself: np.pad 'symmetric' (= scipy 'reflect'), repeated
    x = np.random.default_rng(n).random((3, n))
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, ((0, 0), (15, 15)), mode="symmetric"), 31, axis=-1)
    ours = median_filter(torch.from_numpy(x), 31, dim=-1)
    # exact: order statistics of the same values
    assert np.array_equal(ours.numpy(), np.median(windows, axis=-1))


def test_median_filter_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="odd"):
        median_filter(torch.zeros(5, 5), 4, dim=-1)
    with pytest.raises(TypeError, match="floating"):
        median_filter(torch.zeros(5, 5, dtype=torch.int64), 3, dim=-1)


# slow (~55 s on 2 cores): librosa's HPSS of 20 ten-second views is most of it; every real clip, because
# the masks' 0/0 bins and the median filters' borders depend on the recording
@pytest.mark.slow
def test_hpss_matches_librosa_on_every_real_clip(tut_clips: list[Path]) -> None:
    assert len(tut_clips) == 10
    kind = HPSSMFCC(parse_feature("hpss_mfcc2048"))
    worst = {"wave64": 0.0, "wave32": 0.0, "mfcc32": 0.0}
    for clip in tut_clips:
        views = left_and_mid_44k(clip)
        ref_h, ref_p = librosa_hpss(views)
        h64, p64 = hpss(torch.from_numpy(views))
        h32, p32 = hpss(torch.from_numpy(views).float())
        # the product's path: the hpss_mfcc kind in float32, views L-h, L-p, mid-h, mid-p
        product = kind(torch.from_numpy(views).float()).double().numpy()
        assert product.shape == (4, 128, 431)
        for part, (ours64, ours32, ref) in enumerate(((h64, h32, ref_h), (p64, p32, ref_p))):
            for view in range(2):
                worst["wave64"] = max(worst["wave64"], relative_error(ours64[view].numpy(), ref[view]))
                worst["wave32"] = max(worst["wave32"], relative_error(ours32[view].double().numpy(), ref[view]))
                mfcc_ref = librosa_mfcc(ref[view])  # all float64
                worst["mfcc32"] = max(worst["mfcc32"], relative_error(product[2 * view + part], mfcc_ref))
    print(f"HPSS vs librosa, worst over 10 clips × (L, mid) × (harmonic, percussive): {worst}")
    # float64: only FFT rounding differs (measured 3.9e-15), 1e-12 keeps wide headroom and still
    # fails on any change of the masks or medians
    assert worst["wave64"] <= 1e-12
    # float32 (measured 2.0e-6): 5x that, 10x inside the SPEC's 1e-4 parity bound
    assert worst["wave32"] <= 1e-5
    # HPSS then MFCC in float32 (measured 1.1e-6): 5x that, 20x inside the SPEC's 1e-4 bound
    assert worst["mfcc32"] <= 5e-6


def test_margin_above_one_matches_librosa_and_drops_energy(tut_clips: list[Path]) -> None:
    y = left_and_mid_44k(tut_clips[0])[:, : 44100]
    ref_h, ref_p = librosa_hpss(y, margin=2.0)
    h, p = hpss(torch.from_numpy(y), margin=2.0)
    # float64 parity as above: FFT rounding only, 1000x headroom
    assert relative_error(h.numpy(), ref_h) <= 1e-12 and relative_error(p.numpy(), ref_p) <= 1e-12
    # with margin 2 the masks no longer sum to one: librosa's residual is a sizeable part of y
    assert relative_error(ref_h + ref_p, y) > 0.1


def test_harmonic_plus_percussive_is_the_input_for_margin_one(tut_clips: list[Path]) -> None:
    y = left_and_mid_44k(tut_clips[1])[:, : 44100]
    ref_h, ref_p = librosa_hpss(y)
    # librosa's masks sum to one at margin 1, so its parts add up to y to STFT round-trip rounding
    assert relative_error(ref_h + ref_p, y) <= 1e-12
    h, p = hpss(torch.from_numpy(y).float())
    # ours too: float32 rounding of one subtraction and one addition
    assert relative_error((h + p).double().numpy(), y) <= 1e-6


@pytest.mark.parametrize("lead", [(), (1,), (2, 3)])
@pytest.mark.parametrize("samples", [1, 511, 1000, 2049, 4000, 44_101])
def test_shapes_dtypes_and_short_inputs(lead: tuple[int, ...], samples: int) -> None:
    y = torch.from_numpy(np.random.default_rng(samples).standard_normal((*lead, samples)))
    for dtype in (torch.float32, torch.float64):
        h, p = hpss(y.to(dtype))
        assert h.shape == p.shape == y.shape and h.dtype == p.dtype == dtype
        assert torch.isfinite(h).all() and torch.isfinite(p).all()
    # librosa is the reference where it is well defined: mono (it returns NaN for some short
    # multichannel inputs) and 1 or >= 8 frames (with 2-7 frames scipy's filter reads outside the
    # array, see test_median_filter_reflects_repeatedly_on_short_axes)
    if lead == () and (samples < 512 or samples >= 7 * 512):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # librosa warns that n_fft exceeds short inputs
            ref_h, ref_p = librosa_hpss(y.numpy())
        h, p = hpss(y)
        # float64 parity as above, also on the zero-padded edge frames of short inputs
        np.testing.assert_allclose(h.numpy(), ref_h, rtol=0, atol=1e-12 * max(1.0, np.abs(ref_h).max()))
        np.testing.assert_allclose(p.numpy(), ref_p, rtol=0, atol=1e-12 * max(1.0, np.abs(ref_p).max()))


def test_batch_equals_item_by_item(tut_clips: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    views = torch.from_numpy(left_and_mid_44k(tut_clips[2])[:, : 2 * 44100]).float()
    batch = torch.stack([views, views.flip(-1)])  # 2, 2, samples
    monkeypatch.setattr(hpss_module, "CPU_BATCH_SAMPLES", 3 * 44100)  # cut the batch of 4 into 2 + 2
    h, p = hpss(batch)
    for i in range(2):
        for j in range(2):
            hi, pi = hpss(batch[i, j])
            # exact: per-signal FFTs and compare-only medians do not depend on the batch
            assert torch.equal(hi, h[i, j]) and torch.equal(pi, p[i, j])


def test_silence_splits_zero_bins_like_librosa() -> None:
    y = np.zeros(20_000)
    y[5_000] = 1.0  # a click in digital silence: both medians are 0 around it, masks are 0.5
    ref_h, ref_p = librosa_hpss(y)
    h, p = hpss(torch.from_numpy(y))
    # float64 parity as above
    np.testing.assert_allclose(h.numpy(), ref_h, rtol=0, atol=1e-12)
    np.testing.assert_allclose(p.numpy(), ref_p, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    "kwargs,error", [({"kernel_size": 30}, ValueError), ({"margin": 0.5}, ValueError), ({"n_fft": 0}, ValueError)]
)
def test_hpss_rejects_bad_arguments(kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        hpss(torch.zeros(4096), **kwargs)


def test_hpss_rejects_empty_and_integer_input() -> None:
    with pytest.raises(ValueError, match="samples"):
        hpss(torch.zeros(2, 0))
    with pytest.raises(TypeError, match="float32 or float64"):
        hpss(torch.zeros(4096, dtype=torch.int16))


def test_the_hpss_mfcc_kind_is_the_mfcc_of_each_part_of_each_view(tut_clips: list[Path]) -> None:
    settings = parse_feature("hpss_mfcc2048")
    assert isinstance(settings, HPSSMFCCSettings) and settings.label == "hpss_mfcc2048"
    assert (settings.hpss_kernel, settings.hpss_margin) == (31, 1.0)
    assert (settings.hpss_n_fft, settings.hpss_hop_length) == (2048, 512)
    assert settings.n_rows == 128 and settings.min_samples == 2048
    views = torch.from_numpy(left_and_mid_44k(tut_clips[4])[:, : 44100]).float()
    batch = torch.stack([views, views.flip(-1)])  # B, V, samples
    kind = HPSSMFCC(settings, chunk_size=3)  # 4 signals in chunks of 3: a chunk edge inside a recording
    assert kind.views_per_view == 2
    out = kind(batch)
    assert out.shape == (2, 4, 128, 44)  # each view split into harmonic and percussive: V·2
    mfcc = MFCC(parse_feature("mfcc2048"))
    for clip in range(2):
        for view in range(2):
            harmonic, percussive = hpss(batch[clip, view])
            # exact: per-signal FFTs and compare-only medians do not depend on the chunk, and the
            # parts go through the same CPU MFCC engine
            assert torch.equal(out[clip, 2 * view], mfcc(harmonic[None])[0])
            assert torch.equal(out[clip, 2 * view + 1], mfcc(percussive[None])[0])
    # louder input, louder parts by as much: the masks do not depend on scale, so it moves as an MFCC does
    torch.testing.assert_close(kind.gain_response(), mfcc.gain_response(), rtol=0, atol=0)
    assert kind.graph() is None  # no export graph: a model on HPSS-MFCC is exported from features


@pytest.mark.parametrize(
    "fields,match",
    [({"hpss_kernel": 30}, "hpss_kernel must be a positive odd integer, got 30"),
     ({"hpss_margin": 0.5}, "hpss_margin must be >= 1 \\(librosa's minimum\\), got 0.5"),
     ({"hpss_n_fft": 0}, "hpss_n_fft: input should be greater than 0, got 0")],
)
def test_hpss_mfcc_settings_refuse_bad_values(fields: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_feature({"name": "hpss_mfcc2048", **fields})


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_hpss_on_cuda_matches_cpu() -> None:
    y = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 44_100)))
    h, p = hpss(y)
    h_cuda, p_cuda = hpss(y.cuda())
    assert h_cuda.device.type == "cuda"
    # float64 on both devices: FFT implementations differ only in rounding
    torch.testing.assert_close(h_cuda.cpu(), h, rtol=0, atol=1e-10)
    torch.testing.assert_close(p_cuda.cpu(), p, rtol=0, atol=1e-10)
