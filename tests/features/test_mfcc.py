"""MFCC and log-mel parity with librosa 0.11 on real audio, the pure functions, and the batching contract."""

from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.fft
import soundfile as sf
import soxr
import torch

from stasc.config import ConfigError
from stasc.features import compute, parse_feature
from stasc.features import functional as F
from stasc.features.kinds.logmel import LogMel, LogMelSettings
from stasc.features.kinds.mfcc import MFCC, MFCCSettings


def views_44k(path: Path) -> np.ndarray:
    """(3, samples) float64 views L, R, mid at 44.1 kHz, resampled the same way for both sides."""
    data, rate = sf.read(path, dtype="float64")
    stereo = soxr.resample(data, rate, 44100, quality="HQ").T
    return np.stack([stereo[0], stereo[1], 0.5 * (stereo[0] + stereo[1])])


def librosa_mfcc(view: np.ndarray, n_fft: int, hop_length: int) -> np.ndarray:
    # every default pinned, so a librosa default change cannot silently move the reference; the mel
    # filters in float64 (librosa builds them in float32 unless told); librosa.feature.mfcc applies
    # power_to_db(ref=1, amin=1e-10, top_db=80) itself
    return librosa.feature.mfcc(
        y=view, sr=44100, n_mfcc=128, n_fft=n_fft, hop_length=hop_length, win_length=None, window="hann",
        center=True, pad_mode="constant", power=2.0, n_mels=128, fmin=0.0, fmax=None, htk=False, mel_norm="slaney",
        dct_type=2, norm="ortho", lifter=0, dtype=np.float64,
    )


def librosa_logmel(y: np.ndarray, *, sr: int, n_fft: int, hop_length: int, n_mels: int) -> np.ndarray:
    power = librosa.feature.melspectrogram(
        y=y, sr=sr, n_fft=n_fft, hop_length=hop_length, win_length=None, window="hann", center=True,
        pad_mode="constant", power=2.0, n_mels=n_mels, fmin=0.0, fmax=None, htk=False, norm="slaney",
        dtype=np.float64,
    )
    return librosa.power_to_db(power, ref=1.0, amin=1e-10, top_db=80.0)


def relative_error(ours: np.ndarray, ref: np.ndarray) -> float:
    return float(np.linalg.norm(ours - ref) / np.linalg.norm(ref))


@pytest.mark.parametrize("name,n_fft,hop,frames", [("mfcc2048", 2048, 1024, 431), ("mfcc1024", 1024, 512, 862)])
def test_mfcc_matches_librosa_on_every_real_clip(
    tut_clips: list[Path], name: str, n_fft: int, hop: int, frames: int
) -> None:
    settings = parse_feature(name)
    assert (settings.n_fft, settings.hop_length, settings.n_mels, settings.n_mfcc) == (n_fft, hop, 128, 128)
    transform64, transform32 = MFCC(settings).double(), MFCC(settings)
    worst64 = worst32 = 0.0
    for clip in tut_clips:
        views = views_44k(clip)
        ref = np.stack([librosa_mfcc(v, n_fft, hop) for v in views])
        assert ref.shape == (3, 128, frames)
        ours64 = transform64(torch.from_numpy(views)).numpy()
        ours32 = transform32(torch.from_numpy(views).float()).double().numpy()
        worst64 = max(worst64, relative_error(ours64, ref))
        worst32 = max(worst32, relative_error(ours32, ref))
    print(f"{name}: worst relative Frobenius error float64 {worst64:.2e}, float32 {worst32:.2e}")
    # float64 with the same float64 filters: FFT and matmul rounding only (measured 6e-15)
    assert worst64 <= 1e-12
    # the product computes in float32 (measured 4.7e-7, float32 rounding of the dB values); 2e-6
    # leaves 4x for other CPUs' BLAS and is 5x inside the SPEC's 1e-5 bound
    assert worst32 <= 2e-6


def test_compute_entry_point_resamples_and_builds_views(tut_clips: list[Path]) -> None:
    data, rate = sf.read(tut_clips[3], dtype="float32")
    assert rate == 48000
    out = compute("mfcc2048", data.T, rate)
    assert out.shape == (3, 128, 431) and out.dtype == torch.float32
    ref = np.stack([librosa_mfcc(v, 2048, 1024) for v in views_44k(tut_clips[3])])
    # float32 resampling and features on our side, float64 on librosa's: measured 2.0e-7, the float32
    # budget of the parity test above
    assert relative_error(out.double().numpy(), ref) <= 2e-6
    mono = compute("mfcc1024", data[:, 0], rate)
    assert mono.shape == (1, 128, 862)
    three = compute(parse_feature("mfcc1024"), data[:, :1].T, rate, mono_views=3)
    assert three.shape == (3, 128, 862)
    assert torch.equal(three[0], mono[0]) and torch.equal(three[2], mono[0])


def test_logmel_matches_librosa_on_real_speech(fsdd_dir: Path) -> None:
    # the sample preset's feature: 40-band log-mel at 8 kHz, n_fft 256, hop 64
    settings = parse_feature({"kind": "logmel", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 40})
    assert isinstance(settings, LogMelSettings) and settings.n_rows == 40
    transform64, transform32 = LogMel(settings).double(), LogMel(settings)
    worst64 = worst32 = 0.0
    for path in sorted((fsdd_dir / "recordings").glob("*_george_0.wav")):  # ten digits, 0.3-0.65 s
        y, rate = sf.read(path, dtype="float64")
        assert rate == 8000
        ref = librosa_logmel(y, sr=8000, n_fft=256, hop_length=64, n_mels=40)
        ours64 = transform64(torch.from_numpy(y)[None])[0].numpy()
        assert ours64.shape == ref.shape == (40, settings.frames(len(y)))
        worst64 = max(worst64, relative_error(ours64, ref))
        worst32 = max(worst32, relative_error(transform32(torch.from_numpy(y).float()[None])[0].double().numpy(), ref))
    print(f"log-mel: worst relative error float64 {worst64:.2e}, float32 {worst32:.2e}")
    assert worst64 <= 1e-12  # as the MFCC above: float64 rounding only (measured ~1e-15)
    assert worst32 <= 2e-6  # float32 dB rounding (measured 3.4e-7), the MFCC's float32 budget


@pytest.mark.parametrize("n_samples", [1, 1000, 44100, 44101, 441000])
def test_mfcc_shapes_for_odd_lengths(n_samples: int) -> None:
    settings = parse_feature("mfcc2048")
    out = MFCC(settings)(torch.randn(2, 3, n_samples))
    assert out.shape == (2, 3, 128, settings.frames(n_samples)) == (2, 3, 128, 1 + n_samples // 1024)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()


def test_the_chunked_batched_path_equals_item_by_item_and_the_cpu_engine() -> None:
    # on a CPU without gradients the buffered engine runs and chunk_size does not apply; with
    # gradients the batched pure functions run, chunk_size signals at a time: exercise that path
    torch.manual_seed(0)
    signals = torch.randn(5, 3, 22050, dtype=torch.float64, requires_grad=True)
    transform = MFCC(parse_feature("mfcc2048"), chunk_size=2).double()
    chunks: list[int] = []
    signals_of = transform.signals
    transform.signals = lambda batch: chunks.append(batch.shape[0]) or signals_of(batch)  # type: ignore[method-assign]
    batched = transform(signals)
    assert chunks == [2] * 7 + [1]  # 15 signals, two at a time: the chunked path ran
    assert batched.shape == (5, 3, 128, 22) and batched.requires_grad
    for i in range(5):
        # float64: chunks of other sizes round the same FFT and matmul differently by ~1e-13 at most
        torch.testing.assert_close(batched[i], transform(signals[i]), rtol=0, atol=1e-10)
        for v in range(3):
            torch.testing.assert_close(batched[i, v], transform(signals[i, v : v + 1])[0], rtol=0, atol=1e-10)
    with torch.no_grad():
        chunks.clear()
        engine = transform(signals)
    assert chunks == []  # the buffered CPU engine, not the chunks
    torch.testing.assert_close(batched.detach(), engine, rtol=0, atol=1e-10)  # the same numbers, float64 rounding


def test_rows_of_signals_are_the_transform_of_one_view_each() -> None:
    signals = torch.randn(4, 5000)
    for transform in (MFCC(parse_feature("mfcc1024")), LogMel(parse_feature({"kind": "logmel", "n_mels": 64}))):
        rows = transform.rows(signals)  # N, rows, frames
        assert rows.shape == (4, transform.settings.n_rows, transform.settings.frames(5000))
        assert torch.equal(rows, transform(signals[:, None])[:, 0])  # the same engine, one view per signal


def test_gradients_flow_through_the_batched_path_in_float32() -> None:
    signals = torch.randn(2, 3, 8000, requires_grad=True)
    transform = MFCC(parse_feature("mfcc2048"))
    transform(signals).sum().backward()
    assert signals.grad is not None and torch.isfinite(signals.grad).all() and signals.grad.abs().sum() > 0
    with torch.no_grad():
        # float32 batched vs buffered products: summation order only (measured 5e-5 dB)
        torch.testing.assert_close(transform(signals.detach().requires_grad_()), transform(signals), rtol=0, atol=2e-4)


def test_db_floor_is_per_view() -> None:
    torch.manual_seed(1)
    loud = torch.randn(1, 22050)
    quiet = 1e-4 * torch.randn(1, 22050)
    transform = MFCC(parse_feature("mfcc2048"))
    together = transform(torch.cat([loud, quiet]))
    # float32 rounding of the same numbers in another call (the quiet view is ~80 dB lower)
    torch.testing.assert_close(together[1], transform(quiet)[0], rtol=1e-5, atol=1e-3)
    # a tone spans more than top_db (78 % of its bands sit on the floor): 40 dB quieter, a floor of
    # its own moves every band, floor included, by -40 dB; a floor shared with the loud view would not
    t = torch.arange(22050) / 44100
    tone = torch.sin(2 * torch.pi * 1000 * t)[None]
    logmel = LogMel(parse_feature("logmel"))(torch.cat([tone, 1e-2 * tone]))
    assert logmel[0].max() - logmel[0].min() == pytest.approx(80.0, abs=1e-3)
    # float32 rounding of the 1e-2 scaling and the dB (measured 4e-4 dB)
    torch.testing.assert_close(logmel[1], logmel[0] - 40.0, rtol=0, atol=2e-3)


@pytest.mark.parametrize("name", ["mfcc2048", "mfcc1024"])
def test_the_export_graph_gives_the_transforms_numbers(name: str) -> None:
    transform = MFCC(parse_feature(name))
    views = torch.from_numpy(np.random.default_rng(0).standard_normal((3, 30000))).float()
    graph = transform.graph()
    out = graph(views)
    assert out.shape == transform(views).shape and out.dtype == torch.float32
    # the graph computes in float64: it matches the float64 transform to float32 output rounding
    # (measured 8e-6 on values up to ~180), the float32 transform to float32 dB rounding (9e-5)
    torch.testing.assert_close(out.double(), transform.double()(views.double()), rtol=0, atol=1e-4)
    torch.testing.assert_close(out, transform.float()(views), rtol=0, atol=5e-4)


def test_building_blocks_match_librosa() -> None:
    small = {"sr": 8000, "n_fft": 256, "n_mels": 40, "fmin": 20.0, "fmax": 3800.0}
    for kwargs in ({"sr": 44100, "n_fft": 2048}, small):
        ref = librosa.filters.mel(**kwargs, htk=False, norm="slaney", dtype=np.float64)
        ours = F.mel_filterbank(kwargs["sr"], kwargs["n_fft"], n_mels=kwargs.get("n_mels", 128),
                                fmin=kwargs.get("fmin", 0.0), fmax=kwargs.get("fmax"))
        # float64 on both sides, the same formulas: rounding of the mel-scale logs only
        np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-12)
    dct = F.dct_matrix(40, 128)
    np.testing.assert_allclose(dct, scipy.fft.dct(np.eye(128), axis=0, type=2, norm="ortho")[:40], rtol=0, atol=1e-12)
    power = torch.rand(2, 10, 7, dtype=torch.float64) * 1e3
    np.testing.assert_allclose(F.power_to_db(power)[1].numpy(),
                               librosa.power_to_db(power[1].numpy(), ref=1.0, amin=1e-10, top_db=80.0), rtol=1e-12)


def test_frames_window_and_stft_match_librosa() -> None:
    y = np.random.default_rng(0).standard_normal(5001)
    window = F.hann_window(512)
    assert window.dtype == torch.float64
    reference_window = librosa.filters.get_window("hann", 512, fftbins=True)
    np.testing.assert_allclose(window.numpy(), reference_window, rtol=0, atol=1e-15)
    # centred, zero-padded frames: frame t starts n_fft // 2 before sample t · hop
    frames = F.centred_frames(torch.arange(10.0), n_fft=4, hop_length=3)
    assert frames.tolist() == [[0, 0, 0, 1], [1, 2, 3, 4], [4, 5, 6, 7], [7, 8, 9, 0]]
    padded = torch.arange(12.0)
    assert F.frame(padded, n_fft=4, hop_length=4).tolist() == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    assert F.frame_count(5001, 128) == F.centred_frames(torch.zeros(5001), n_fft=512, hop_length=128).shape[0] == 40
    ref = librosa.stft(y, n_fft=512, hop_length=128, win_length=None, window="hann", center=True, pad_mode="constant")
    spectrum = F.stft(torch.from_numpy(y), n_fft=512, hop_length=128, window=window)
    assert spectrum.shape == (40, 257) and spectrum.is_complex()  # frames before bins
    # float64 FFTs of the same frames (measured 1.5e-14 on values up to ~50)
    np.testing.assert_allclose(spectrum.numpy().T, ref, rtol=0, atol=1e-12)
    np.testing.assert_allclose(F.stft_power(torch.from_numpy(y), n_fft=512, hop_length=128).numpy(), np.abs(ref) ** 2,
                               rtol=1e-12, atol=1e-10)
    batch = torch.from_numpy(np.random.default_rng(1).standard_normal((2, 3, 999)))
    assert F.stft(batch, n_fft=256, hop_length=100, window=F.hann_window(256)).shape == (2, 3, 10, 129)
    with pytest.raises(ValueError, match="window has 10 samples, expected n_fft=512"):
        F.stft(torch.from_numpy(y), n_fft=512, hop_length=128, window=torch.ones(10, dtype=torch.float64))


def test_bad_feature_settings_raise() -> None:
    with pytest.raises(ConfigError, match=r"unknown feature 'mfcc4096'; paper names: .*mfcc2048"):
        parse_feature("mfcc4096")
    with pytest.raises(ConfigError, match=r"n_mfcc \(200\) cannot exceed n_mels \(128\)"):
        MFCCSettings.parse({"n_mfcc": 200})
    with pytest.raises(ConfigError, match=r"n_mfcc \(50\) cannot exceed n_mels \(40\)"):
        parse_feature({"name": "mfcc2048", "n_mels": 40, "n_mfcc": 50})
    with pytest.raises(ConfigError, match="hop_length: input should be greater than 0, got 0"):
        MFCCSettings.parse({"hop_length": 0})
    with pytest.raises(ConfigError, match=r"hop_length \(4096\) larger than n_fft \(2048\)"):
        MFCCSettings.parse({"hop_length": 4096})
    with pytest.raises(ConfigError, match=r"fmax=5000.0 at 8000 Hz"):
        LogMelSettings.parse({"sample_rate": 8000, "fmax": 5000})
    with pytest.raises(ValueError, match=r"got shape \(1, 2, 5\)"):
        compute("mfcc2048", np.zeros((1, 2, 5)), 44100)
    with pytest.raises(TypeError, match="MFCC takes MFCCSettings, got LogMelSettings"):
        MFCC(parse_feature("logmel"))
    with pytest.raises(ValueError, match="chunk_size must be >= 1, got 0"):
        MFCC(parse_feature("mfcc2048"), chunk_size=0)
