"""``pcen``: per-channel energy normalisation of the mel spectrogram, against librosa on real field recordings."""

import csv
from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf
import torch

from helpers import ESC10, esc_subset
from stasc.cli import main
from stasc.config import ConfigError, load_experiment
from stasc.features import compute
from stasc.features.frontend import FrontEnd
from stasc.features.kinds.pcen import INTEGER_SCALE, Pcen, PcenSettings
from stasc.features.patches import Normalizer
from stasc.features.registry import build_transform, feature_kinds, parse_feature
from stasc.runs import RunDir

GRID = {"sample_rate": 44100, "n_fft": 2048, "hop_length": 1024, "n_mels": 128}
# a helicopter and crackling fire: the broadband textures envsound confuses
CLIPS = ("1-172649-A.ogg", "1-17150-A.ogg")


def esc_clip(name: str) -> np.ndarray:
    """``(channels, samples)`` float32 of an ESC-10 recording at its own 44.1 kHz."""
    audio, rate = sf.read(ESC10 / "audio" / name, dtype="float32", always_2d=True)
    assert rate == 44100
    return audio.T


@pytest.mark.parametrize("name", CLIPS)
def test_pcen_is_librosas_pcen_of_the_mel_magnitudes_on_both_paths(name: str) -> None:
    settings = parse_feature({"kind": "pcen", **GRID})
    assert isinstance(settings, PcenSettings) and feature_kinds()["pcen"].transform is Pcen
    audio = esc_clip(name)
    rows = compute(settings, audio, 44100)[0].double().numpy()
    db = compute(parse_feature({"kind": "logmel", **GRID}), audio, 44100)[0].double().numpy()
    magnitudes = INTEGER_SCALE * 10 ** (db / 20)  # the square root of the mel power, at the integer range
    b = settings.smoothing
    start = scipy.signal.lfilter_zi([b], [1, b - 1])[None] * magnitudes[:, :1]  # each band's own first frame
    expected = librosa.pcen(magnitudes, sr=44100, hop_length=1024, gain=0.98, bias=2.0, power=0.5,
                            time_constant=0.4, eps=1e-6, zi=start)
    np.testing.assert_allclose(rows, expected, atol=1e-5, rtol=1e-5)
    assert rows.shape == (128, settings.frames(audio.shape[-1]))
    # the batched path (accelerators, gradients) gives the same rows as the CPU's buffered one
    transform = build_transform(settings)
    signal = torch.from_numpy(audio).requires_grad_(True)
    batched = transform(signal)
    assert batched.requires_grad
    np.testing.assert_allclose(batched[0].detach().double().numpy(), rows, atol=1e-4, rtol=1e-4)


def test_a_louder_recording_moves_the_log_mel_by_its_gain_and_pcen_hardly_at_all() -> None:
    audio = esc_clip(CLIPS[0])
    pcen, logmel = parse_feature({"kind": "pcen", **GRID}), parse_feature({"kind": "logmel", **GRID})
    quiet, loud = (compute(pcen, audio * g, 44100) for g in (0.1, 1.0))
    quiet_db, loud_db = (compute(logmel, audio * g, 44100) for g in (0.1, 1.0))
    sounding = loud_db > loud_db.amax() - 60  # away from the top_db floor, which moves with the loudest frame
    torch.testing.assert_close((loud_db - quiet_db)[sounding], torch.full_like(loud_db[sounding], 20.0), atol=1e-3,
                               rtol=0)
    # 20 dB louder: the level divided out but its (1 - gain) share, 10^(20 · 0.02 / 20) = 1.047 on the ratio
    relative = ((loud - quiet).abs() / quiet.abs().clamp_min(1e-3))[sounding]
    assert float(relative.median()) < 0.05 < float(((loud_db - quiet_db).abs() / quiet_db.abs().clamp_min(1e-3))
                                                     [sounding].median())


def test_the_gain_and_equaliser_augmentations_leave_pcen_rows_as_they_are() -> None:
    features = [{"kind": "logmel", **GRID}, {"kind": "pcen", **GRID}]
    stacked = load_experiment("envsound", {"input": {"features": features}, "model": {"in_channels": 2}})
    front_end = FrontEnd(stacked.input, [Normalizer(np.zeros(128), np.full(128, 2.0))] * 2)
    for directions in (front_end.gain_directions(), front_end.band_directions()):
        assert directions.shape == (2, 128, 1)
        torch.testing.assert_close(directions[0], torch.full((128, 1), 0.5))  # 1 dB over the rows' std of 2
        assert not directions[1].any()  # a fixed gain, overall or per band, is what PCEN divides out


@pytest.mark.parametrize("changes,match", [
    ({"model": {"patch_weights": "sound"}}, "model.patch_weights 'sound'.*pcen rows are level-normalised, not dB"),
    ({"train": {"silent_patches": "drop"}}, "train.silent_patches 'drop'.*pcen rows are level-normalised, not dB"),
    ({"augment": {"gain_db": 6}}, "augment.gain_db changes levels in dB; pcen rows divide each band's level out"),
    ({"augment": {"filter_db": 6}}, "augment.filter_db changes levels in dB; pcen rows divide each band's level out"),
])
def test_pcen_alone_refuses_what_needs_rows_in_db(changes: dict, match: str) -> None:
    base = {"input": {"features": [{"kind": "pcen", **GRID}]}, "model": {"patch_weights": "equal"},
            "train": {"silent_patches": "keep"}, "augment": {"gain_db": 0, "filter_db": 0}}
    load_experiment("envsound", base)  # without them it is a valid recipe
    merged = {key: {**base.get(key, {}), **changes.get(key, {})} for key in {*base, *changes}}
    with pytest.raises(ConfigError, match=match):
        load_experiment("envsound", merged)


def test_envsound_trains_on_log_mel_and_pcen_stacked_end_to_end(tmp_path: Path) -> None:
    data = esc_subset(tmp_path, 1, folds="12")
    features = f"[{{kind: logmel, {', '.join(f'{k}: {v}' for k, v in GRID.items())}}}, " \
               f"{{kind: pcen, {', '.join(f'{k}: {v}' for k, v in GRID.items())}}}]"
    assert main(["train", "--data", str(data), "--preset", "envsound", "--cache", str(tmp_path / "cache"),
                 "--out", str(tmp_path / "run"), "--fold", "1", "--no-progress", "--set", "train.max_epochs=1",
                 "--set", "model.width_multiplier=0.0625", "--set", "model.members=1",
                 "--set", "train.precision=32-true", "--set", f"input.features={features}",
                 "--set", "model.in_channels=2"]) == 0
    split = RunDir(tmp_path / "run").split("fold-1")
    rows = list(csv.DictReader(split.predictions.open()))
    assert rows and all(abs(sum(float(r[c]) for c in r if c not in ("filename", "label", "predicted", "fold")) - 1)
                        < 1e-3 for r in rows)
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "cache").iterdir()) == ["logmel", "pcen"]


def test_a_log_mel_and_pcen_model_is_exported_from_both_features_and_scores_as_the_checkpoint(tmp_path: Path) -> None:
    from stasc.export import export_model
    from stasc.inference import Predictor
    from stasc.loading import model_predictors
    from stasc.models import build_model

    features = [{"kind": "logmel", **GRID}, {"kind": "pcen", **GRID}]
    config = load_experiment("envsound", {"input": {"features": features}, "model": {
        "in_channels": 2, "width_multiplier": 0.0625, "members": 1}})
    views = torch.from_numpy(esc_clip(CLIPS[0])[:, : 4 * 44100])  # mono: one view, 4 s
    with torch.no_grad():
        spectrograms = [build_transform(spec)(views) for spec in config.input.features]
    torch.manual_seed(0)
    normalizers = [Normalizer.fit(s.numpy() for s in spectrogram) for spectrogram in spectrograms]
    checkpoint = Predictor(config, [str(i) for i in range(config.model.n_classes)], normalizers,
                           build_model(config.model)).save(tmp_path / "pcen.ckpt")
    report = export_model(model_predictors(checkpoint), tmp_path / "pcen.pt", format="torchscript", window_seconds=4.0)
    assert report.input_kind == "features"  # the PCEN recursion has no graph form
    module = torch.jit.load(str(tmp_path / "pcen.pt"))
    with torch.no_grad():
        got = module(spectrograms[0], spectrograms[1]).numpy()
    expected = Predictor.from_checkpoint(checkpoint).window_probabilities(views[None])[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
