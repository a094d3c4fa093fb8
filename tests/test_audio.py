"""Audio input: decoding any format, the documented errors, resampling, channel views, streaming."""

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from stasc.audio import (
    COMPRESSED_LENGTH_SLACK,
    AudioError,
    audio_suffixes,
    channel_views,
    load,
    load_views,
    probe,
    resample,
    stream_views,
    stream_windows,
    view_names,
)
from stasc.features.patches import patch_starts

HAS_MP3 = "MP3" in sf.available_formats()


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
    with pytest.raises(AudioError, match=r"missing.wav: file not found"):
        load(tmp_path / "missing.wav")


def test_probe_says_exactly_what_is_wrong_with_a_path(tmp_path: Path, tut_clips: list[Path]) -> None:
    os.symlink(tmp_path / "gone.wav", tmp_path / "broken.wav")
    (tmp_path / "folder.wav").mkdir()
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("not audio\n" * 50)
    sf.write(tmp_path / "no_frames.wav", np.zeros((0, 2), np.float32), 8000)
    cases = {
        "broken.wav": f"broken symbolic link \\(it points to {tmp_path / 'gone.wav'}, which does not exist\\)",
        "folder.wav": "is a folder, not an audio file",
        "missing.wav": "file not found",
        "empty.wav": "file is empty \\(0 bytes\\)",
        "text.wav": "not a readable audio file",
        "no_frames.wav": "contains no audio frames",
    }
    for name, problem in cases.items():
        for reader in (probe, load):
            with pytest.raises(AudioError, match=problem) as info:
                reader(tmp_path / name)
            assert info.value.path == str(tmp_path / name) and str(info.value).startswith(f"{tmp_path / name}: ")
    info = probe(tut_clips[0])
    assert (info.frames, info.samplerate, info.channels) == (480000, 48000, 2)


def test_audio_suffixes_are_the_formats_soundfile_reads() -> None:
    suffixes = audio_suffixes()
    assert {".wav", ".flac", ".ogg"} <= suffixes
    assert (".mp3" in suffixes) == HAS_MP3
    assert all(s.startswith(".") and s == s.lower() for s in suffixes)
    assert ".txt" not in suffixes and ".csv" not in suffixes


@pytest.mark.skipif(not HAS_MP3, reason="this libsndfile has no MP3")
def test_an_mp3_loads_and_one_cut_in_half_is_truncated(tmp_path: Path, tut_clips: list[Path]) -> None:
    data, _ = sf.read(tut_clips[1], frames=3 * 44100, dtype="float32")
    sf.write(tmp_path / "intact.mp3", data, 44100)
    audio = load(tmp_path / "intact.mp3")
    assert audio.sample_rate == 44100 and audio.samples.shape[0] == 2
    # an intact file decodes to its header's length up to the encoder's padding
    assert abs(audio.samples.shape[1] - 3 * 44100) <= COMPRESSED_LENGTH_SLACK
    encoded = (tmp_path / "intact.mp3").read_bytes()
    (tmp_path / "cut.mp3").write_bytes(encoded[: len(encoded) // 2])
    with pytest.raises(AudioError, match=r"cut.mp3: truncated: header promises \d+ frames, file holds \d+"):
        load(tmp_path / "cut.mp3")
    with pytest.raises(AudioError, match=r"cut.mp3: truncated"):
        list(stream_views(tmp_path / "cut.mp3", 44100))
    streamed = torch.cat(list(stream_views(tmp_path / "intact.mp3", 44100)), dim=1)
    assert torch.equal(streamed, load_views(tmp_path / "intact.mp3", 44100))


@pytest.fixture(scope="module")
def excerpts(tmp_path_factory: pytest.TempPathFactory, tut_clips: list[Path], fsdd_dir: Path) -> dict[str, Path]:
    """Real recordings to stream: 3 s of a TUT clip (stereo, 48 kHz, 24-bit) and a spoken digit (mono, 8 kHz)."""
    folder = tmp_path_factory.mktemp("excerpts")
    data, rate = sf.read(tut_clips[7], frames=3 * 48000, dtype="float64")
    sf.write(folder / "stereo.wav", data, rate, subtype="PCM_24")
    return {"stereo": folder / "stereo.wav", "mono": fsdd_dir / "recordings" / "7_jackson_3.wav"}


def expected_windows(views: torch.Tensor, window: int, hop: int) -> list[tuple[int, torch.Tensor]]:
    """Windows cut from the whole signal by the patch rule; a signal shorter than a window is one window."""
    if views.shape[1] < window:
        return [(0, views)]
    return [(s, views[:, s : s + window]) for s in patch_starts(views.shape[1], width=window, shift=hop)]


@pytest.mark.parametrize(
    "name,rate,mono_views",
    [("stereo", 44100, 1), ("stereo", 48000, 1), ("mono", 16000, 3), ("mono", 8000, 1)],
)
def test_streamed_windows_equal_those_cut_from_the_whole_file(
    excerpts: dict[str, Path], name: str, rate: int, mono_views: int
) -> None:
    path = excerpts[name]
    whole = load_views(path, rate, mono_views=mono_views)  # load() + resample() + channel_views()
    assert whole.shape[0] == (3 if name == "stereo" or mono_views == 3 else 1)
    n = whole.shape[1]
    for block_frames in (1000, 4097, 1 << 16):
        # the stream itself: blocks of the views whose concatenation is the whole signal, bit for bit
        blocks = list(stream_views(path, rate, mono_views=mono_views, block_frames=block_frames))
        assert all(b.dtype == torch.float32 and b.shape[0] == whole.shape[0] for b in blocks)
        assert torch.equal(torch.cat(blocks, dim=1), whole)
        # hops smaller, equal and larger than the window; a window longer than the whole recording
        for window, hop in ((n // 4, n // 10), (n // 5, n // 5), (n // 8, n // 3), (n + 100, 1000)):
            got = list(stream_windows(path, rate, window=window, hop=hop, mono_views=mono_views,
                                      block_frames=block_frames))
            want = expected_windows(whole, window, hop)
            assert [start for start, _ in got] == [start for start, _ in want], (block_frames, window, hop)
            for (_, ours), (_, theirs) in zip(got, want):
                assert torch.equal(ours, theirs)  # the streaming resampler gives the same samples exactly
    short = list(stream_windows(path, rate, window=n + 1, hop=10, mono_views=mono_views))
    assert len(short) == 1 and short[0][0] == 0 and short[0][1].shape == whole.shape  # one window of its length


def test_streaming_refuses_bad_files_and_bad_windows(bad_files: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    folder, kinds = bad_files
    for name, problem in kinds.items():
        with pytest.raises(AudioError, match=problem):
            list(stream_windows(folder / name, 8000, window=800, hop=400))
    with pytest.raises(AudioError, match="file not found"):
        list(stream_views(tmp_path / "missing.wav", 8000))
    with pytest.raises(ValueError, match="window and hop must be positive, got 0, 10"):
        list(stream_windows(folder / "nan.wav", 8000, window=0, hop=10))


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


def test_load_views_is_load_resample_and_views_of_the_whole_file(tut_clips: list[Path]) -> None:
    audio = load(tut_clips[3])
    expected = channel_views(torch.from_numpy(resample(audio.samples, audio.sample_rate, 44100)))
    assert torch.equal(load_views(tut_clips[3], 44100), expected)  # the streamed blocks, joined: bit for bit
