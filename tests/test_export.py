"""Export: ONNX (onnxruntime) and TorchScript outputs match the PyTorch Predictor on real clips."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import FSDD, fsdd_subset
from stasc.cli import main
from stasc.export import export_model
from stasc.exported import OnnxModel, read_metadata
from stasc.features.registry import build_transform
from stasc.inference import CheckpointError, Predictor
from stasc.loading import load_model, model_predictors
from stasc.runs import RunDir

# the sample clips are < 1 s: 0.25-s windows every 0.125 s keep every window full length
WINDOW, HOP = 0.25, 0.125
# float32 network on both sides; the features run in float64 in the graph (DFT as a matmul)
TOLERANCE = 1e-4
CLIPS = ["3_theo_13.wav", "0_george_10.wav", "7_george_2.wav"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export")
    data = fsdd_subset(root, 3)
    args = ["train", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample",
            "--out", str(root / "run"), "--cache", str(root / "cache"), "--fold", "0", "--k", "5", "--no-progress",
            "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625"]
    assert main(args) == 0
    return RunDir(root / "run").split("fold-0").best


def _clips() -> list[Path]:
    return [FSDD / "recordings" / name for name in CLIPS]


def test_onnx_matches_pytorch_on_real_clips(checkpoint: Path, tmp_path: Path) -> None:
    report = export_model(model_predictors(checkpoint), tmp_path / "m.onnx", format="onnx", window_seconds=WINDOW)
    assert report.input_kind == "waveform"
    reference, exported = Predictor.from_checkpoint(checkpoint), OnnxModel(tmp_path / "m.onnx")
    assert _clips()
    for clip in _clips():
        a = reference.predict_file(clip, window_seconds=WINDOW, hop_seconds=HOP)
        b = exported.predict_file(clip, window_seconds=WINDOW, hop_seconds=HOP)
        assert [(w.start, w.end) for w in a.windows] == [(w.start, w.end) for w in b.windows]
        for x, y in zip(a.windows, b.windows):
            np.testing.assert_allclose(y.probabilities, x.probabilities, rtol=0, atol=TOLERANCE)


def test_onnx_matches_pytorch_under_meanstd_clip_normalisation(tmp_path: Path) -> None:
    # the clip's spread is computed inside the graph from its own spectrogram, as the Predictor does per window
    data = fsdd_subset(tmp_path, 3)
    assert main(["train", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample",
                 "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "cache"), "--fold", "0", "--k", "5",
                 "--no-progress", "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625",
                 "--set", "input.clip_norm=meanstd"]) == 0
    best = RunDir(tmp_path / "run").split("fold-0").best
    reference = Predictor.from_checkpoint(best)
    assert reference.config.input.clip_norm == "meanstd"
    export_model(model_predictors(best), tmp_path / "m.onnx", format="onnx", window_seconds=WINDOW)
    exported = OnnxModel(tmp_path / "m.onnx")
    for clip in _clips():
        a = reference.predict_file(clip, window_seconds=WINDOW, hop_seconds=HOP)
        b = exported.predict_file(clip, window_seconds=WINDOW, hop_seconds=HOP)
        assert len(a.windows) == len(b.windows) > 1
        for x, y in zip(a.windows, b.windows):
            np.testing.assert_allclose(y.probabilities, x.probabilities, rtol=0, atol=TOLERANCE)


def test_torchscript_matches_pytorch(checkpoint: Path, tmp_path: Path) -> None:
    report = export_model(model_predictors(checkpoint), tmp_path / "m.pt", format="torchscript", window_seconds=WINDOW)
    reference = Predictor.from_checkpoint(checkpoint)
    scripted = torch.jit.load(str(tmp_path / "m.pt"))
    from stasc.audio import channel_views, load

    audio = load(_clips()[0])
    views = channel_views(torch.from_numpy(audio.samples), mono_views=reference.config.input.mono_views)
    window = views[:, : report.input_shape[-1]]
    assert window.shape[-1] == report.input_shape[-1]  # the clip is longer than the exported window
    expected = reference.window_probabilities(window[None])[0]
    got = torch.stack([scripted(view[None]) for view in window]).mean(0)
    torch.testing.assert_close(got, expected, rtol=0, atol=TOLERANCE)


def test_metadata_round_trip(checkpoint: Path, tmp_path: Path) -> None:
    for name, fmt in (("m.onnx", "onnx"), ("m.pt", "torchscript")):
        report = export_model(model_predictors(checkpoint), tmp_path / name, format=fmt, window_seconds=WINDOW)
        meta = read_metadata(tmp_path / name)
        assert json.loads(meta["stasc.classes"]) == list(Predictor.from_checkpoint(checkpoint).classes)
        assert meta["stasc.input_kind"] == "waveform" and int(meta["stasc.sample_rate"]) == report.sample_rate
        assert float(meta["stasc.window_seconds"]) == WINDOW
        sidecar = json.loads((tmp_path / f"{name}.json").read_text())
        assert sidecar["classes"] == list(report.classes) and sidecar["input_kind"] == "waveform"


def test_bad_paths_give_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        model_predictors(tmp_path / "missing.ckpt")
    with pytest.raises(CheckpointError, match="not found"):
        OnnxModel(tmp_path / "missing.onnx")
    assert main(["export", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "nope: not found" in capsys.readouterr().err
    (tmp_path / "folder").mkdir()
    assert main(["export", "--model", str(tmp_path / "folder"), "--out", str(tmp_path / "x.onnx")]) == 2
    assert "neither a checkpoint nor a run folder" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_folder_is_one_model_for_predict_and_export(tmp_path: Path) -> None:
    # a promise of the run layout: `predict --model RUN` and `export --model RUN` give the same probabilities
    data = fsdd_subset(tmp_path, 2)
    assert main(["cv", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample", "--k", "2",
                 "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "cache"), "--no-progress",
                 "--set", "train.max_epochs=2", "--set", "model.width_multiplier=0.0625"]) == 0
    assert len(RunDir(tmp_path / "run").model_checkpoints()) == 2
    assert main(["export", "--model", str(tmp_path / "run"), "--out", str(tmp_path / "run.onnx"),
                 "--window-seconds", str(WINDOW)]) == 0
    assert read_metadata(tmp_path / "run.onnx")["stasc.members"] == "2"
    clips = [str(c) for c in _clips()]
    for model in (tmp_path / "run", tmp_path / "run.onnx"):
        assert main(["predict", "--model", str(model), *clips, "--window", str(WINDOW), "--hop", str(HOP), "--out",
                     str(tmp_path / f"{model.name}.csv"), "--no-progress"]) == 0
    rows = [list(csv.DictReader((tmp_path / f"{name}.csv").open())) for name in ("run", "run.onnx")]
    classes = [str(d) for d in range(10)]
    assert len(rows[0]) == len(rows[1]) > len(clips)
    for a, b in zip(*rows):
        np.testing.assert_allclose([float(a[c]) for c in classes], [float(b[c]) for c in classes], atol=1e-4)
    # and it is the fold average, not one fold's model
    fold_average = load_model(tmp_path / "run").predict_file(clips[0], window_seconds=WINDOW, hop_seconds=HOP)
    first_fold = model_predictors(RunDir(tmp_path / "run").split("fold-0").best)[0]
    one = first_fold.predict_file(clips[0], window_seconds=WINDOW, hop_seconds=HOP)
    assert np.abs(fold_average.probabilities - one.probabilities).max() > 1e-4


def test_predict_runs_an_onnx_export_with_the_same_output_as_pytorch(checkpoint: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    assert main(["export", "--model", str(checkpoint), "--out", str(model), "--window-seconds", str(WINDOW)]) == 0
    clips = [str(c) for c in _clips()]
    # no --window: the export's own window is the default
    assert main(["predict", "--model", str(model), *clips, "--hop", str(HOP), "--out", str(tmp_path / "onnx.csv"),
                 "--no-progress"]) == 0
    assert main(["predict", "--model", str(checkpoint), *clips, "--window", str(WINDOW), "--hop", str(HOP),
                 "--out", str(tmp_path / "torch.csv"), "--no-progress"]) == 0
    onnx_rows = list(csv.DictReader((tmp_path / "onnx.csv").open()))
    torch_rows = list(csv.DictReader((tmp_path / "torch.csv").open()))
    assert list(onnx_rows[0]) == list(torch_rows[0]) and len(onnx_rows) == len(torch_rows) > len(clips)
    classes = [c for c in onnx_rows[0] if c not in ("file", "start", "end", "label", "error")]
    for a, b in zip(onnx_rows, torch_rows):
        assert (a["file"], a["start"], a["end"]) == (b["file"], b["start"], b["end"])
        np.testing.assert_allclose([float(a[c]) for c in classes], [float(b[c]) for c in classes], atol=TOLERANCE)


@pytest.mark.parametrize("setting", ["model.pooling=meanmax", "model.members=2", "model.test_time_warps=[0.9,1.0,1.1]"])
def test_a_model_of_a_new_kind_trains_from_the_cli_and_predicts_the_same_after_export(tmp_path: Path,
                                                                                       setting: str) -> None:
    # what a user tries first with a new head or an averaged model: `--set ...`, then predict and export the run
    from stasc.models import MemberAverage
    from stasc.models.pooling import TemporalMeanMaxPooling, TemporalMeanPooling

    data = fsdd_subset(tmp_path, 2)
    assert main(["train", "--data", str(data), "--audio-root", str(FSDD / "recordings"), "--preset", "sample",
                 "--out", str(tmp_path / "run"), "--cache", str(tmp_path / "cache"), "--fold", "0", "--k", "5",
                 "--no-progress", "--set", "train.max_epochs=1", "--set", "model.width_multiplier=0.0625",
                 "--set", setting]) == 0
    checkpoint = RunDir(tmp_path / "run").split("fold-0").best
    predictor = Predictor.from_checkpoint(checkpoint)
    if setting == "model.pooling=meanmax":
        assert predictor.config.model.pooling.kind == "meanmax"
        assert isinstance(predictor.model.pooling, TemporalMeanMaxPooling)
    elif setting == "model.members=2":
        assert predictor.config.model.members == 2 and isinstance(predictor.model, MemberAverage)
        assert isinstance(predictor.model.pooling, TemporalMeanPooling)
    else:  # the graph must warp as the predictor does, or the two disagree below
        assert predictor.config.model.test_time_warps == [0.9, 1.0, 1.1]
    model = tmp_path / "m.onnx"
    assert main(["export", "--model", str(checkpoint), "--out", str(model), "--window-seconds", str(WINDOW)]) == 0
    clips = [str(c) for c in _clips()]
    for source, out in ((model, "onnx.csv"), (checkpoint, "torch.csv")):
        assert main(["predict", "--model", str(source), *clips, "--window", str(WINDOW), "--hop", str(HOP),
                     "--out", str(tmp_path / out), "--no-progress"]) == 0
    onnx_rows, torch_rows = (list(csv.DictReader((tmp_path / out).open())) for out in ("onnx.csv", "torch.csv"))
    assert len(onnx_rows) == len(torch_rows) > len(clips)
    classes = [c for c in onnx_rows[0] if c not in ("file", "start", "end", "label", "error")]
    for a, b in zip(onnx_rows, torch_rows):
        np.testing.assert_allclose([float(a[c]) for c in classes], [float(b[c]) for c in classes], atol=TOLERANCE)


def test_a_cqt_model_is_exported_from_features_and_says_so(tmp_path: Path, tut_clips: list[Path]) -> None:
    from stasc.audio import channel_views, load, resample
    from stasc.config import load_experiment
    from stasc.features.patches import Normalizer
    from stasc.models import build_model

    config = load_experiment("mfcc-stap", {"input": {"features": ["cqt"]}, "model": {"width_multiplier": 0.0625}})
    spec = config.input.features[0]
    audio = load(tut_clips[0])
    seconds = 2.0
    samples = resample(audio.samples, audio.sample_rate, spec.sample_rate)[:, : int(seconds * spec.sample_rate)]
    views = channel_views(torch.from_numpy(samples))
    with torch.no_grad():
        features = build_transform(spec)(views)  # 3 views, R, T
    torch.manual_seed(0)
    classes = [str(i) for i in range(config.model.n_classes)]
    normalizers = [Normalizer.fit(f.numpy() for f in features)]
    checkpoint = Predictor(config, classes, normalizers, build_model(config.model)).save(tmp_path / "cqt.ckpt")
    report = export_model(model_predictors(checkpoint), tmp_path / "cqt.onnx", format="onnx", window_seconds=seconds)
    assert report.input_kind == "features" and report.input_shape[1:] == tuple(features.shape[1:])
    exported = OnnxModel(tmp_path / "cqt.onnx")
    got = exported.features_probabilities([features.numpy()])
    expected = Predictor.from_checkpoint(checkpoint).window_probabilities(views[None])[0].numpy()
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    with pytest.raises(CheckpointError, match="exported from features"):
        exported.predict_file(tut_clips[0], window_seconds=seconds)


@pytest.mark.parametrize("format", ["onnx", "torchscript"])
def test_the_two_feature_cqt_mfcc_model_exports_from_both_features(
    tmp_path: Path, tut_clips: list[Path], format: str
) -> None:
    """The paper's cqt-mfcc variant stacks a CQT (110 rows) and an MFCC (128 rows) as two channels."""
    from stasc.audio import channel_views, load, resample
    from stasc.config import load_experiment
    from stasc.features.patches import Normalizer
    from stasc.models import build_model

    config = load_experiment("cqt-mfcc", {"model": {"width_multiplier": 0.0625}})
    specs = config.input.features
    assert [s.kind for s in specs] == ["cqt", "mfcc"]
    audio = load(tut_clips[1])
    seconds = 2.0
    samples = resample(audio.samples, audio.sample_rate, specs[0].sample_rate)[:, : int(seconds * specs[0].sample_rate)]
    views = channel_views(torch.from_numpy(samples))
    with torch.no_grad():
        features = [build_transform(spec)(views) for spec in specs]  # 3 views, R, T each
    torch.manual_seed(1)
    classes = [str(i) for i in range(config.model.n_classes)]
    normalizers = [Normalizer.fit(f.numpy() for f in feature) for feature in features]
    checkpoint = Predictor(config, classes, normalizers, build_model(config.model)).save(tmp_path / "cqt-mfcc.ckpt")
    out = tmp_path / f"cqt-mfcc.{'onnx' if format == 'onnx' else 'pt'}"
    report = export_model(model_predictors(checkpoint), out, format=format, window_seconds=seconds)
    assert report.input_kind == "features"
    assert [shape[1:] for shape in report.input_shapes] == [tuple(f.shape[1:]) for f in features]
    expected = Predictor.from_checkpoint(checkpoint).window_probabilities(views[None])[0].numpy()
    if format == "onnx":
        exported = OnnxModel(out)
        assert exported.input_names == ["features_0", "features_1"]
        got = exported.features_probabilities([f.numpy() for f in features])
        with pytest.raises(ValueError, match="takes 2 inputs"):
            exported.features_probabilities([features[0].numpy()])
    else:
        module = torch.jit.load(str(out))
        with torch.no_grad():
            got = np.mean([module(features[0][v : v + 1], features[1][v : v + 1]).numpy() for v in range(3)], axis=0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


def test_an_export_weighs_patches_by_their_sound_as_the_predictor_does(tmp_path: Path) -> None:
    # a real ESC-10 recording: one bark in digital silence; the graph must leave the silent patches out of the vote
    from stasc.audio import load_views
    from stasc.config import ExperimentConfig
    from stasc.features.patches import Normalizer

    dog = FSDD.parent / "esc10" / "audio" / "1-100032-A.ogg"
    logmel = {"kind": "logmel", "sample_rate": 22050, "n_fft": 1024, "hop_length": 512, "n_mels": 32}
    config = ExperimentConfig.parse({
        "input": {"features": [logmel], "patch_width": 32, "patch_shift": 16, "patch_size": [32, 32]},
        "model": {"input_size": [32, 32], "width_multiplier": 0.0625, "n_classes": 3, "pooling": "mean",
                  "head": "linear", "patch_weights": "sound"}})

    class LevelAndContrast(torch.nn.Module):  # an untrained DCNN hears every patch alike; these logits differ
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 5.0 * torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3)), torch.zeros(len(x))], dim=-1)

    norms = [Normalizer(np.full(32, -40.0), np.full(32, 20.0))]
    predictor = Predictor(config, ["dog", "rain", "rooster"], norms, LevelAndContrast())  # type: ignore[arg-type]
    export_model([predictor], tmp_path / "m.onnx", format="onnx", window_seconds=5.0)
    window = load_views(dog, 22050)[None, :, : 5 * 22050]
    expected = predictor.window_probabilities(window)[0]
    got = OnnxModel(tmp_path / "m.onnx").window_probabilities(window)[0]
    torch.testing.assert_close(got.float(), expected.float(), rtol=0, atol=TOLERANCE)
    equal = Predictor(config.replaced(model=config.model.replaced(patch_weights="equal")), predictor.classes, norms,
                      LevelAndContrast())  # type: ignore[arg-type]
    assert (equal.window_probabilities(window)[0] - expected).abs().max() > 0.01  # the weights mattered
