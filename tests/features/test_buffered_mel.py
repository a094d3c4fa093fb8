"""The CPU MFCC/log-mel engine gives the batched pure functions' numbers, for any length and dtype."""

import numpy as np
import pytest
import torch

from stasc.features import functional as F
from stasc.features import parse_feature
from stasc.features.buffered_mel import BufferedLogMel, filterbank_blocks
from stasc.features.kinds.mfcc import MFCC, MFCCSettings


def engine_and_reference(spec: MFCCSettings, *, with_dct: bool):  # type: ignore[no-untyped-def]
    mel = F.mel_filterbank(spec.sample_rate, spec.n_fft, n_mels=spec.n_mels, fmin=spec.fmin, fmax=spec.fmax)
    dct = F.dct_matrix(spec.n_mfcc, spec.n_mels)
    window = F.hann_window(spec.n_fft)
    engine = BufferedLogMel(n_fft=spec.n_fft, hop_length=spec.hop_length, window=window, mel_basis=mel,
                            dct_basis=dct if with_dct else None, top_db=spec.top_db)

    def reference(signals: torch.Tensor) -> torch.Tensor:
        kwargs = {"n_fft": spec.n_fft, "hop_length": spec.hop_length, "top_db": spec.top_db,
                  "mel_basis": torch.from_numpy(mel).to(signals.dtype), "window": window.to(signals.dtype)}
        if with_dct:
            return F.mfcc(signals, dct_basis=torch.from_numpy(dct).to(signals.dtype), **kwargs)
        return F.log_mel(signals, **kwargs)

    return engine, reference


@pytest.mark.parametrize("name", ["mfcc2048", "mfcc1024"])
@pytest.mark.parametrize("with_dct", [True, False])
@pytest.mark.parametrize("n_samples", [1, 700, 44101])
def test_engine_equals_the_pure_functions(name: str, with_dct: bool, n_samples: int) -> None:
    spec = parse_feature(name)
    engine, reference = engine_and_reference(spec, with_dct=with_dct)
    torch.manual_seed(n_samples)
    # signals of very different loudness in one call: buffers are reused, nothing may leak between them
    signals = torch.randn(4, n_samples, dtype=torch.float64) * torch.tensor([[1.0], [1e-4], [0.0], [30.0]])
    ours = engine(signals.reshape(2, 2, -1))
    assert ours.shape == (2, 2, spec.n_mfcc if with_dct else spec.n_mels, spec.frames(n_samples))
    # float64 on both sides: only the summation order of the mel product differs (measured 1.1e-13 dB)
    torch.testing.assert_close(ours.flatten(0, 1), reference(signals), rtol=0, atol=1e-11)
    single = engine(signals[None, 1:2].float())[0, 0]
    # float32: the blocked product sums in another order than the dense one (measured 6e-5 dB)
    torch.testing.assert_close(single, reference(signals[1:2].float())[0], rtol=0, atol=5e-4)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shared_spectra_of_mid_and_repeated_views_give_the_plain_numbers(
    tut_clips, dtype: torch.dtype, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    from stasc.audio import channel_views, load_views

    spec = parse_feature("mfcc1024")
    engine, reference = engine_and_reference(spec, with_dct=True)
    stereo = load_views(tut_clips[0], 44100)[:2, :88200].to(dtype)
    mono = stereo[:1]
    cases = {  # views → FFTs the engine should run
        "left, right, mid": (channel_views(stereo), 2),  # the mid's spectrum is the mean of the others'
        "mono x3": (channel_views(mono, mono_views=3), 1),  # views 2 and 3 are copies
        "not a mid": (torch.stack([stereo[0], stereo[1], 0.5 * (stereo[0] + stereo[1]) + 1e-3]), 3),
        "two views": (stereo, 2),
    }
    rfft = torch.fft.rfft
    calls = []
    monkeypatch.setattr(torch.fft, "rfft", lambda frames: calls.append(1) or rfft(frames))
    for name, (views, ffts) in cases.items():
        calls.clear()
        ours = engine(views[None].to(dtype))[0]
        assert len(calls) == ffts, name
        # the shared spectrum rounds differently from an FFT of the rounded mid: measured 2.3e-13 dB in
        # float64 and 1.2e-4 dB in float32 (the blocked product's rounding as above)
        atol = 1e-11 if dtype == torch.float64 else 5e-4
        torch.testing.assert_close(ours, reference(views.to(dtype)), rtol=0, atol=atol, msg=name)


def test_blocks_rebuild_the_filterbank_exactly() -> None:
    basis = F.mel_filterbank(44100, 2048)
    for rows in (1, 8, 128, 500):
        rebuilt = np.zeros_like(basis)
        blocks = filterbank_blocks(basis, rows_per_block=rows, dtype=torch.float64)
        for block in blocks:
            rebuilt[block.row_start : block.row_end, block.col_start : block.col_end] = block.weights.numpy()
        np.testing.assert_array_equal(rebuilt, basis)
        assert [b.row_start for b in blocks] == list(range(0, 128, rows))
    # the point of the blocks: far fewer weights than the dense matrix
    blocks = filterbank_blocks(basis, rows_per_block=8, dtype=torch.float64)
    assert sum(b.weights.numel() for b in blocks) < basis.size / 4


def test_an_all_zero_block_still_gives_rows() -> None:
    basis = np.zeros((4, 10))
    basis[2, 3:5] = 1.0
    blocks = filterbank_blocks(basis, rows_per_block=2, dtype=torch.float32)
    assert [(b.row_start, b.row_end, b.weights.abs().sum().item()) for b in blocks] == [(0, 2, 0.0), (2, 4, 2.0)]


def test_gradients_take_the_batched_path_with_the_engines_numbers() -> None:
    transform = MFCC(parse_feature("mfcc2048"))
    signals = torch.randn(2, 8000, requires_grad=True)
    batched = transform(signals)  # out= buffers could not carry a gradient: the pure functions run
    assert batched.requires_grad
    batched.sum().backward()
    assert signals.grad is not None and torch.isfinite(signals.grad).all() and signals.grad.abs().sum() > 0
    engine = transform(signals.detach())  # no gradient wanted: the buffered engine
    assert not engine.requires_grad
    # float32, blocked vs dense mel product (measured 5e-5 dB)
    torch.testing.assert_close(batched.detach(), engine, rtol=0, atol=5e-4)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_accelerators_take_the_batched_path_with_the_engines_numbers() -> None:
    transform = MFCC(parse_feature("mfcc2048"))
    signals = torch.randn(2, 3, 44100)
    on_gpu = transform.to("cuda")(signals.cuda())
    assert on_gpu.device.type == "cuda"
    # float32 cuFFT and cuBLAS (TF32 off in feature code) vs the CPU engine: summation order only
    torch.testing.assert_close(on_gpu.cpu(), transform.cpu()(signals), rtol=0, atol=5e-4)


def test_bad_inputs_are_named() -> None:
    spec = parse_feature("mfcc2048")
    engine, _ = engine_and_reference(spec, with_dct=True)
    with pytest.raises(ValueError, match=r"expected a CPU float tensor \(B, V, samples\), got torch.int64 \(3,\)"):
        engine(torch.zeros(3, dtype=torch.int64))
    with pytest.raises(ValueError, match="window has 10 samples, expected n_fft=2048"):
        BufferedLogMel(n_fft=2048, hop_length=1024, window=torch.ones(10), mel_basis=np.ones((2, 1025)),
                       dct_basis=None, top_db=80.0)
    with pytest.raises(ValueError, match="top_db must be non-negative"):
        BufferedLogMel(n_fft=4, hop_length=2, window=torch.ones(4), mel_basis=np.ones((2, 3)), dct_basis=None,
                       top_db=-1.0)
