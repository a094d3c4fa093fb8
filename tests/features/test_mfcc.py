"""MFCC parity with librosa 0.11 on the real TUT clips, and the transform's batching contract."""

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf
import soxr
import torch

from stasc.features import compute
from stasc.features.functional import dct_matrix, mel_filterbank, power_to_db, stft_power
from stasc.features.spec import FeatureSpec
from stasc.features.transforms import MFCC


def views_44k(path: Path) -> np.ndarray:
    """(3, samples) float64 views L, R, mid at 44.1 kHz, resampled the same way for both sides."""
    data, rate = sf.read(path, dtype="float64")
    stereo = soxr.resample(data, rate, 44100, quality="HQ").T
    return np.stack([stereo[0], stereo[1], 0.5 * (stereo[0] + stereo[1])])


def librosa_mfcc(view: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    # every default pinned, so a librosa default change cannot silently move the reference;
    # librosa.feature.mfcc applies power_to_db(ref=1, amin=1e-10, top_db=80) itself
    return librosa.feature.mfcc(
        y=view, sr=44100, n_mfcc=128, n_fft=n_fft, hop_length=hop_length, window="hann", center=True,
        pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None, htk=False, mel_norm="slaney",
        dct_type=2, norm="ortho", lifter=0,
    )


def relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))


@pytest.mark.parametrize("name,n_fft,hop,frames", [("mfcc2048", 2048, 1024, 431), ("mfcc1024", 1024, 512, 862)])
def test_mfcc_matches_librosa_on_every_real_clip(tut_clips: list[Path], name: str, n_fft: int, hop: int, frames: int) -> None:
    transform64 = MFCC(FeatureSpec.named(name)).double()
    worst64 = worst32 = 0.0
    for clip in tut_clips:
        views = views_44k(clip)
        ref = np.stack([librosa_mfcc(v, n_fft, hop) for v in views])
        assert ref.shape == (3, 128, frames)
        ours64 = transform64(torch.from_numpy(views)).numpy()
        ours32 = MFCC(FeatureSpec.named(name))(torch.from_numpy(views).float()).double().numpy()
        worst64 = max(worst64, relative_error(ours64, ref))
        worst32 = max(worst32, relative_error(ours32, ref))
    print(f"{name}: worst relative Frobenius error float64 {worst64:.2e}, float32 {worst32:.2e}")
    # float64 differs from librosa only by summation order: ~1e-9 measured, so 1e-7 is a wide margin
    assert worst64 <= 1e-7
    # the product computes in float32: rounding of the dB values gives ~5e-7; the bound is 1e-5
    assert worst32 <= 1e-5


def test_compute_entry_point_resamples_and_builds_views(tut_clips: list[Path]) -> None:
    data, rate = sf.read(tut_clips[3], dtype="float32")
    out = compute("mfcc2048", data.T, rate)
    assert out.shape == (3, 128, 431) and out.dtype == torch.float32
    ref = np.stack([librosa_mfcc(v, 2048, 1024) for v in views_44k(tut_clips[3])])
    # float32 resampling on our side vs float64 on librosa's: same 1e-5 budget as above
    assert relative_error(out.double().numpy(), ref) <= 1e-5
    mono = compute("mfcc1024", data[:, 0], rate)
    assert mono.shape == (1, 128, 862)
    assert compute("mfcc1024", data[:, :1].T, rate, mono_views=3).shape == (3, 128, 862)


@pytest.mark.parametrize("n_samples", [1, 1000, 44100, 44101, 441000])
def test_mfcc_shapes_for_odd_lengths(n_samples: int) -> None:
    spec = FeatureSpec.named("mfcc2048")
    out = MFCC(spec)(torch.randn(2, 3, n_samples))
    assert out.shape == (2, 3, 128, spec.frames(n_samples))


def test_batched_equals_item_by_item() -> None:
    torch.manual_seed(0)
    signals = torch.randn(5, 3, 22050)
    transform = MFCC(FeatureSpec.named("mfcc2048"), chunk_size=2)
    batched = transform(signals)
    for i in range(5):
        torch.testing.assert_close(batched[i], transform(signals[i]), rtol=0, atol=1e-4)


def test_db_floor_is_per_view() -> None:
    loud = torch.randn(1, 22050)
    quiet = 1e-4 * torch.randn(1, 22050)
    transform = MFCC(FeatureSpec.named("mfcc2048"))
    together = transform(torch.cat([loud, quiet]))
    torch.testing.assert_close(together[1], transform(quiet)[0], rtol=1e-5, atol=1e-3)


def test_building_blocks_match_librosa() -> None:
    np.testing.assert_allclose(mel_filterbank(44100, 2048), librosa.filters.mel(sr=44100, n_fft=2048, n_mels=128, dtype=np.float64), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mel_filterbank(8000, 256, n_mels=40, fmin=20, fmax=3800), librosa.filters.mel(sr=8000, n_fft=256, n_mels=40, fmin=20, fmax=3800, dtype=np.float64), rtol=1e-10, atol=1e-12)
    import scipy.fft

    np.testing.assert_allclose(dct_matrix(40, 128) @ np.eye(128), scipy.fft.dct(np.eye(128), axis=0, type=2, norm="ortho")[:40], atol=1e-12)
    y = np.random.default_rng(0).standard_normal(5000)
    ref = np.abs(librosa.stft(y, n_fft=512, hop_length=128, pad_mode="constant")) ** 2
    np.testing.assert_allclose(stft_power(torch.from_numpy(y), n_fft=512, hop_length=128).numpy(), ref, rtol=1e-9, atol=1e-9)
    power = torch.rand(2, 10, 7, dtype=torch.float64) * 1e3
    np.testing.assert_allclose(power_to_db(power)[1].numpy(), librosa.power_to_db(power[1].numpy(), ref=1.0, amin=1e-10, top_db=80.0))


def test_bad_feature_settings_raise() -> None:
    with pytest.raises(ValueError, match="unknown feature 'mfcc4096'"):
        FeatureSpec.named("mfcc4096")
    with pytest.raises(ValueError, match="n_mfcc \\(200\\) cannot exceed n_mels \\(128\\)"):
        FeatureSpec(n_mfcc=200)
    with pytest.raises(ValueError, match="hop_length"):
        FeatureSpec(hop_length=0)
    with pytest.raises(ValueError, match="got shape \\(1, 2, 5\\)"):
        compute("mfcc2048", np.zeros((1, 2, 5)), 44100)


def test_logmel_matches_librosa() -> None:
    y = np.random.default_rng(3).standard_normal(16000)
    spec = FeatureSpec(kind="logmel", sample_rate=16000, n_fft=512, hop_length=160, n_mels=40)
    ours = MFCC(spec).double()(torch.from_numpy(y)[None])[0].numpy()
    ref = librosa.power_to_db(librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=160, n_mels=40,
                                                             pad_mode="constant"), ref=1.0, amin=1e-10, top_db=80.0)
    assert ours.shape == ref.shape == (40, 101)
    assert relative_error(ours, ref) <= 1e-7  # float64 on both sides
