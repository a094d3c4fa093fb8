from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from stasc.audio import AudioError, channel_views, load, load_views, resample, view_names


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"])
def test_load_reads_every_bit_depth_as_float32(tmp_path: Path, subtype: str) -> None:
    rng = np.random.default_rng(0)
    data = (rng.uniform(-0.5, 0.5, size=(1000, 2))).astype(np.float64)
    path = tmp_path / f"x_{subtype}.wav"
    sf.write(path, data, 16000, subtype=subtype)
    audio = load(path)
    assert audio.samples.dtype == np.float32
    assert audio.samples.shape == (2, 1000)
    assert audio.sample_rate == 16000
    # 16-bit quantisation step is 2^-15; everything deeper is closer
    np.testing.assert_allclose(audio.samples, data.T, atol=2**-15)


@pytest.mark.parametrize("fmt,ext", [("FLAC", ".flac"), ("OGG", ".ogg")])
def test_load_reads_flac_and_ogg(tmp_path: Path, fmt: str, ext: str, tut_clips: list[Path]) -> None:
    data, rate = sf.read(tut_clips[0], frames=48000, dtype="float32")
    path = tmp_path / f"clip{ext}"
    sf.write(path, data, rate, format=fmt)
    audio = load(path)
    assert audio.samples.shape[0] == 2
    assert abs(audio.samples.shape[1] - 48000) < 2048  # Vorbis may pad the last packet


def test_load_real_tut_clip(tut_clips: list[Path]) -> None:
    audio = load(tut_clips[0])
    assert audio.samples.shape == (2, 480000)
    assert audio.sample_rate == 48000
    assert audio.seconds == pytest.approx(10.0)


def test_multichannel_file_uses_first_two_channels(tmp_path: Path) -> None:
    data = np.stack([np.full(100, 0.1), np.full(100, 0.3), np.full(100, 0.9), np.full(100, -0.9)], axis=1)
    path = tmp_path / "quad.wav"
    sf.write(path, data, 8000, subtype="FLOAT")
    views = load_views(path, 8000)
    np.testing.assert_allclose(views[:, 0].numpy(), [0.1, 0.3, 0.2], rtol=1e-6)


def test_every_bad_file_raises_audio_error_naming_file_and_problem(bad_files: tuple[Path, dict[str, str]]) -> None:
    folder, kinds = bad_files
    for name, problem in kinds.items():
        with pytest.raises(AudioError) as info:
            load(folder / name)
        assert name in str(info.value)
        assert problem in str(info.value), str(info.value)


def test_missing_file_is_an_audio_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="missing.wav: file not found"):
        load(tmp_path / "missing.wav")


def test_resample_to_analysis_rate_keeps_duration_and_a_tone() -> None:
    rate = 48000
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 1000 * t).astype(np.float32)[None]
    out = resample(tone, rate, 44100)
    assert out.shape == (1, 44100)
    assert out.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(out[0]))
    assert np.argmax(spectrum) == 1000  # 1 s at 44.1 kHz: bin k is k Hz


def test_resample_rejects_non_positive_rates() -> None:
    with pytest.raises(ValueError, match="sample rates must be positive"):
        resample(np.zeros((1, 10), np.float32), 0, 44100)


def test_channel_views_stereo_left_right_mid() -> None:
    stereo = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
    views = channel_views(stereo)
    torch.testing.assert_close(views, torch.tensor([[1.0, 2.0], [3.0, 6.0], [2.0, 4.0]]))
    assert view_names(2) == ["left", "right", "mid"]


@pytest.mark.parametrize("mono_views", [1, 3])
def test_channel_views_mono(mono_views: int) -> None:
    mono = torch.tensor([[0.5, -0.5, 0.25]])
    views = channel_views(mono, mono_views=mono_views)
    assert views.shape == (mono_views, 3)
    assert all(torch.equal(v, mono[0]) for v in views)
    assert len(view_names(1, mono_views=mono_views)) == mono_views


def test_view_relations_recognise_what_channel_views_made_and_nothing_else() -> None:
    from stasc.audio import view_relations

    stereo = torch.randn(2, 1000)
    assert view_relations(channel_views(stereo)) == ["own", "own", "mid"]
    assert view_relations(channel_views(stereo[:1], mono_views=3)) == ["own", "copy", "copy"]
    assert view_relations(channel_views(stereo[[0, 0]])) == ["own", "copy", "copy"]  # dual mono: mid = left
    almost = channel_views(stereo)
    almost[2, 500] += 1e-7  # one sample off: computed on its own
    assert view_relations(almost) == ["own", "own", "own"]
    assert view_relations(channel_views(stereo.double())) == ["own", "own", "mid"]
    # a float32 mid widened to float64 is not the float64 mean of the widened sides: computed on its own
    assert view_relations(channel_views(stereo).double()) == ["own", "own", "own"]
    assert view_relations(torch.stack([stereo[0], stereo[1], stereo[0]])) == ["own", "own", "own"]


def test_channel_views_rejects_bad_shapes_and_counts() -> None:
    with pytest.raises(ValueError, match="expected \\(channels, samples\\)"):
        channel_views(torch.zeros(10))
    with pytest.raises(ValueError, match="mono_views must be 1 or 3"):
        channel_views(torch.zeros(1, 10), mono_views=2)  # type: ignore[arg-type]


def test_load_views_checks_expected_channel_count(tmp_path: Path) -> None:
    path = tmp_path / "mono.wav"
    sf.write(path, np.zeros(800, np.float32), 8000)
    with pytest.raises(AudioError, match="mono.wav: has 1 channel"):
        load_views(path, 8000, channels=2)
    assert load_views(path, 16000).shape == (1, 1600)
