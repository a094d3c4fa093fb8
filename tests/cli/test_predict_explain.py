"""`stasc predict`, `stasc explain`, `stasc ensemble` on a trained model and real audio."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from stasc.cli import main
from stasc.explain import explain_file
from stasc.inference import Predictor, window_starts, load_model


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory: pytest.TempPathFactory, tut_clips: list[Path]) -> Path:
    """25 s of real street audio: three TUT clips joined, the last cut to 5 s."""
    parts = [sf.read(clip, dtype="float32")[0] for clip in tut_clips[:3]]
    joined = np.concatenate([parts[0], parts[1], parts[2][: 5 * 48000]])
    path = tmp_path_factory.mktemp("long") / "long.wav"
    sf.write(path, joined, 48000, subtype="PCM_24")
    return path


def test_window_starts() -> None:
    assert window_starts(25, 10, 10) == [0, 10, 15]  # the last window is aligned to the end
    assert window_starts(20, 10, 10) == [0, 10]
    assert window_starts(7, 10, 10) == [0]
    assert window_starts(25, 10, 5) == [0, 5, 10, 15]


def test_long_recording_gives_a_timeline_and_a_summary(trained_sample_run: Path, long_recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(trained_sample_run), str(long_recording), "--out", str(out), "--no-progress"]) == 0
    rows = list(csv.DictReader(out.open()))
    header = list(rows[0])
    assert header[:4] == ["file", "start", "end", "label"] and header[-1] == "error"
    assert header[4:-1] == [str(d) for d in range(10)]
    windows = [(float(r["start"]), float(r["end"])) for r in rows if r["start"]]
    assert windows == [(0.0, 10.0), (10.0, 20.0), (15.0, 25.0)]
    summary = [r for r in rows if not r["start"]]
    assert len(summary) == 1
    window_probs = np.array([[float(r[c]) for c in header[4:-1]] for r in rows if r["start"]])
    summary_probs = np.array([float(summary[0][c]) for c in header[4:-1]])
    np.testing.assert_allclose(summary_probs, window_probs.mean(0), atol=2e-6)
    assert summary[0]["label"] == header[4:-1][int(summary_probs.argmax())]


def test_bad_file_is_reported_and_the_others_predicted(trained_sample_run: Path, tmp_path: Path,
                                                        bad_files: tuple[Path, dict[str, str]]) -> None:
    folder, kinds = bad_files
    from stasc.sample import sample_dir

    good = sample_dir() / "recordings" / "7_nicolas_1.wav"
    out = tmp_path / "p.json"
    status = main(["predict", "--model", str(trained_sample_run), str(good), str(folder), "--out", str(out),
                   "--no-progress"])
    assert status == 1
    result = json.loads(out.read_text())
    by_file = {Path(f["file"]).name: f for f in result["files"]}
    assert by_file["7_nicolas_1.wav"]["label"] in result["classes"]
    assert len(by_file["7_nicolas_1.wav"]["windows"]) == 1
    for name, problem in kinds.items():
        assert problem in by_file[name]["error"], by_file[name]


def test_dcase_format_and_csv_on_stdout(trained_sample_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from stasc.sample import sample_dir

    clips = [sample_dir() / "recordings" / f"{d}_theo_2.wav" for d in range(3)]
    out = tmp_path / "submission.csv"
    assert main(["predict", "--model", str(trained_sample_run), *map(str, clips), "--format", "dcase", "--out", str(out),
                 "--no-progress"]) == 0
    lines = out.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == [c.name for c in clips]
    assert main(["predict", "--model", str(trained_sample_run), str(clips[0]), "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith("file,start,end,label")


def test_run_folder_averages_its_split_models(trained_sample_run: Path) -> None:
    model = load_model(trained_sample_run)
    assert len(model.predictors) == 2
    from stasc.sample import sample_dir

    clip = sample_dir() / "recordings" / "5_george_0.wav"
    each = [p.predict_file(clip).probabilities for p in model.predictors]
    np.testing.assert_allclose(model.predict_file(clip).probabilities, np.mean(each, axis=0), atol=1e-6)


def test_explain_shapes_and_distributions(trained_sample_run: Path, tmp_path: Path, long_recording: Path) -> None:
    predictor = Predictor.from_checkpoint(trained_sample_run / "fold-0" / "checkpoints" / "best.ckpt")
    explanation = explain_file(predictor, long_recording)
    assert explanation.view == "mid"
    rows, frames = explanation.spectrogram.shape
    assert rows == predictor.config.input.features[0].n_rows and frames == 1 + 10 * 8000 // 64
    assert explanation.temporal.shape == (frames,) and explanation.bands.shape == (predictor.config.model.output_grid()[0],)
    for weights in (explanation.temporal, explanation.bands):
        assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
    out = tmp_path / "explain.png"
    assert main(["explain", "--model", str(trained_sample_run), str(long_recording), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 10000
    arrays = json.loads(out.with_suffix(".json").read_text())
    assert len(arrays["temporal_attention"]) == frames


def test_ensemble_of_runs_and_prediction_with_it(trained_sample_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained_sample_run, copy)
    runs = [trained_sample_run, copy, trained_sample_run]
    assert main(["ensemble", "--runs", *map(str, runs), "--out", str(tmp_path / "ens")]) == 0
    report = json.loads((tmp_path / "ens" / "report.json").read_text())
    assert {"majority vote", "soft vote"} <= set(report["rows"])
    from stasc.sample import sample_dir

    clip = sample_dir() / "recordings" / "1_jackson_0.wav"
    assert main(["predict", "--model", str(tmp_path / "ens"), str(clip), "--out", str(tmp_path / "e.csv"),
                 "--no-progress"]) == 0


def test_ensemble_refuses_runs_with_other_folds(trained_sample_run: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import shutil

    other = tmp_path / "other"
    shutil.copytree(trained_sample_run, other, ignore=shutil.ignore_patterns("*.ckpt", "tensorboard"))
    path = other / "fold-0" / "predictions.csv"
    lines = path.read_text().splitlines()
    first = lines[1].split(",")
    first[2] = "7"
    lines[1] = ",".join(first)
    path.write_text("\n".join(lines) + "\n")
    assert main(["ensemble", "--runs", str(trained_sample_run), str(other), "--out", str(tmp_path / "e")]) == 2
    assert "differs" in capsys.readouterr().err
