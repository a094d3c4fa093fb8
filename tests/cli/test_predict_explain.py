"""`stasc predict`, `stasc explain`, `stasc ensemble` on a trained model and real audio."""

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import FSDD
from stasc.cli import main
from stasc.ensemble import VOTE_PROTOCOL, majority_shares
from stasc.explain import explain_file
from stasc.inference import Predictor, predict_files, window_starts
from stasc.loading import load_model
from stasc.runs import RunDir


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


def test_long_recording_gives_a_timeline_and_a_summary(trained_sample_run: Path, long_recording: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    assert main(["predict", "--model", str(trained_sample_run), str(long_recording), "--out", str(out),
                 "--no-progress"]) == 0
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


def test_streamed_windows_equal_windows_cut_from_the_whole_recording(trained_sample_run: Path,
                                                                     long_recording: Path) -> None:
    from stasc.audio import load_views

    model = load_model(trained_sample_run)
    assert isinstance(model.members[0], Predictor)  # type: ignore[attr-defined]
    (result,) = predict_files(model, [long_recording], window_seconds=10, hop_seconds=5)
    views = load_views(long_recording, model.sample_rate)  # the whole file at once
    for window in result.windows:
        start = round(window.start * model.sample_rate)
        whole = model.window_probabilities(views[None, :, start : start + 10 * model.sample_rate])[0]
        np.testing.assert_allclose(window.probabilities, whole.numpy(), atol=1e-6)


def test_many_short_files_are_batched_and_each_gets_its_own_prediction(trained_sample_run: Path) -> None:
    predictor = Predictor.from_checkpoint(RunDir(trained_sample_run).split("fold-0").best)
    clips = sorted((FSDD / "recordings").glob("*_jackson_1.wav"))
    seen = []
    original = predictor.window_probabilities
    predictor.window_probabilities = lambda views: seen.append(len(views)) or original(views)  # type: ignore[method-assign]
    together = list(predict_files(predictor, clips))
    one_by_one = [predictor.predict_file(clip) for clip in clips]
    assert [r.path for r in together] == clips
    for a, b in zip(together, one_by_one):
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)
    assert max(seen) > 1  # some batch held windows of several files (those of one length)


def test_bad_and_too_short_files_are_reported_and_the_others_predicted(
        trained_sample_run: Path, tmp_path: Path, bad_files: tuple[Path, dict[str, str]]) -> None:
    folder, kinds = bad_files
    sf.write(folder / "blip.wav", np.zeros(160, np.float32), 8000)  # 20 ms: less than one 256-sample frame
    sf.write(folder / "one.wav", np.zeros(1, np.float32), 8000)
    os.symlink(folder / "gone.wav", folder / "dangling.wav")
    (folder / "notes.txt").write_text("not audio")
    kinds.update({"blip.wav": "too short: 0.020 s", "one.wav": "too short", "dangling.wav": "broken symbolic link"})
    good = FSDD / "recordings" / "7_nicolas_1.wav"
    out = tmp_path / "p.json"
    status = main(["predict", "--model", str(trained_sample_run), str(good), str(folder), str(folder / "dangling.wav"),
                   "--out", str(out), "--no-progress"])
    assert status == 1
    result = json.loads(out.read_text())
    by_file = {Path(f["file"]).name: f for f in result["files"]}
    assert by_file["7_nicolas_1.wav"]["label"] in result["classes"]
    assert len(by_file["7_nicolas_1.wav"]["windows"]) == 1
    for name, problem in kinds.items():
        assert problem in by_file[name]["error"], by_file[name]
    assert "notes.txt" not in by_file


def test_a_folder_scan_says_what_it_skips(trained_sample_run: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    samples, rate = sf.read(FSDD / "recordings" / "4_theo_3.wav", dtype="float32")
    sf.write(folder / "clip.mp3", samples, rate)  # soundfile reads MP3: a folder scan includes it
    (folder / "readme.txt").write_text("notes")
    os.symlink(folder / "missing.wav", folder / "dangling.wav")
    (folder / "folder.wav").mkdir()
    assert main(["predict", "--model", str(trained_sample_run), str(folder), "--out", str(tmp_path / "p.csv"),
                 "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert "readme.txt: not an audio format" in err and "dangling.wav: broken symbolic link" in err
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert {Path(r["file"]).name for r in rows} == {"clip.mp3"}
    assert main(["predict", "--model", str(trained_sample_run), str(folder / "folder.wav"), "--no-progress"]) == 2
    assert "folder.wav: a folder with no audio files in it" in capsys.readouterr().err


def test_an_interrupted_prediction_resumes_with_the_files_not_yet_in_the_output(
        trained_sample_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clips = sorted((FSDD / "recordings").glob("*_george_4.wav"))
    for kind in ("csv", "jsonl", "dcase"):
        out = tmp_path / f"p.{kind}"
        assert main(["predict", "--model", str(trained_sample_run), *map(str, clips), "--format", kind, "--out",
                     str(out), "--no-progress"]) == 0
        complete = out.read_text()
        lines = complete.splitlines()
        cut = {"csv": 1 + 2 * 4, "jsonl": 4, "dcase": 1 + 4}[kind]  # four files written, then a half line
        out.write_text("\n".join(lines[:cut]) + "\n" + lines[cut][: len(lines[cut]) // 2])
        assert main(["predict", "--model", str(trained_sample_run), *map(str, clips), "--format", kind, "--out",
                     str(out), "--no-progress"]) == 0
        assert "4 files already predicted; predicting the other 6" in capsys.readouterr().err
        assert out.read_text() == complete, kind


def test_output_formats_csv_on_stdout_and_the_dcase_submissions(trained_sample_run: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    clips = [FSDD / "recordings" / f"{d}_theo_2.wav" for d in range(3)]
    out = tmp_path / "submission.csv"
    assert main(["predict", "--model", str(trained_sample_run), *map(str, clips), "--format", "dcase", "--out",
                 str(out), "--no-progress"]) == 0
    lines = out.read_text().splitlines()
    assert lines[0].split("\t") == ["filename", "scene_label", *map(str, range(10))]
    rows = [line.split("\t") for line in lines[1:]]
    assert [r[0] for r in rows] == [c.name for c in clips]
    for row in rows:
        probabilities = np.array(row[2:], dtype=float)
        assert abs(probabilities.sum() - 1) < 1e-4 and row[1] == str(int(probabilities.argmax()))
    assert main(["predict", "--model", str(trained_sample_run), *map(str, clips), "--format", "dcase2019", "--out",
                 str(tmp_path / "old.csv"), "--no-progress"]) == 0
    assert (tmp_path / "old.csv").read_text().splitlines() == [f"{r[0]}\t{r[1]}" for r in rows]
    capsys.readouterr()
    assert main(["predict", "--model", str(trained_sample_run), str(clips[0]), "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith("file,start,end,label")


def test_a_run_folder_averages_its_fold_models(trained_sample_run: Path) -> None:
    model = load_model(trained_sample_run)
    assert len(model.members) == 2  # type: ignore[attr-defined]
    clip = FSDD / "recordings" / "5_george_0.wav"
    each = [p.predict_file(clip).probabilities for p in model.members]  # type: ignore[attr-defined]
    np.testing.assert_allclose(model.predict_file(clip).probabilities, np.mean(each, axis=0), atol=1e-6)  # type: ignore[attr-defined]


def test_explain_shapes_and_distributions(trained_sample_run: Path, tmp_path: Path, long_recording: Path) -> None:
    predictor = Predictor.from_checkpoint(RunDir(trained_sample_run).split("fold-0").best)
    passes: list[int] = []
    hook = predictor.model.register_forward_hook(lambda *_: passes.append(1))
    explanation = explain_file(predictor, long_recording)
    hook.remove()
    # one network pass a test-time warp: the unwarped pass that gives the maps also gives its probabilities
    assert len(predictor.config.model.test_time_warps) == 3 and len(passes) == 3
    assert explanation.view == "mid"
    rows, frames = explanation.spectrogram.shape
    assert rows == predictor.config.input.features[0].n_rows and frames == 1 + 10 * 8000 // 64
    assert explanation.temporal.shape == (frames,)
    assert explanation.bands.shape == (predictor.config.model.output_grid()[0],)
    for weights in (explanation.temporal, explanation.bands):
        assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
    # the probabilities shown are the window's prediction
    whole = predictor.predict_file(long_recording, window_seconds=10, hop_seconds=10).windows[0].probabilities
    np.testing.assert_allclose(explanation.probabilities, whole, atol=1e-6)
    out = tmp_path / "explain.png"
    assert main(["explain", "--model", str(trained_sample_run), str(long_recording), "--out", str(out),
                 "--device", "cpu"]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG" and out.stat().st_size > 10000
    arrays = json.loads(out.with_suffix(".json").read_text())
    assert len(arrays["temporal_attention"]) == frames


def test_an_ensemble_votes_and_predicts_by_majority(trained_sample_run: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained_sample_run, copy)
    runs = [trained_sample_run, copy, trained_sample_run]
    assert main(["ensemble", "--runs", *map(str, runs), "--out", str(tmp_path / "ens")]) == 0
    report = json.loads((tmp_path / "ens" / "report.json").read_text())
    assert {"majority vote", "soft vote"} <= set(report["rows"])
    assert report["protocol"]["description"].startswith(VOTE_PROTOCOL)  # the vote says how its members were chosen
    clip = FSDD / "recordings" / "1_jackson_0.wav"
    out = tmp_path / "e.csv"
    assert main(["predict", "--model", str(tmp_path / "ens"), str(clip), "--out", str(out), "--no-progress"]) == 0
    summary = next(r for r in csv.DictReader(out.open()) if not r["start"])
    members = np.stack([load_model(run).predict_file(clip).windows[0].probabilities for run in runs])  # type: ignore[attr-defined]
    expected = majority_shares(members[:, None])[0]
    np.testing.assert_allclose([float(summary[c]) for c in map(str, range(10))], expected, atol=1e-6)
    assert summary["label"] == str(int(expected.argmax()))


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


PEAK_MEMORY = """
import sys
from stasc.allocator import return_large_buffers_to_the_system
from stasc.inference import predict_files
from stasc.loading import load_model
return_large_buffers_to_the_system()  # as stasc does
(result,) = predict_files(load_model(sys.argv[1]), [sys.argv[2]])
print(len(result.windows), next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")))
"""


@pytest.mark.slow
def test_memory_does_not_grow_with_the_recordings_length(trained_sample_run: Path, tmp_path: Path,
                                                        tut_clips: list[Path]) -> None:
    # a promise of streaming prediction: an hour-long field recording needs no more memory than a minute
    import subprocess
    import sys

    clip = sf.read(tut_clips[0], dtype="float32")[0]  # 10 s, 48 kHz stereo
    peaks = {}
    for minutes in (3, 9):  # both more windows than a batch of 16: the batch, not the length, sets the peak
        path = tmp_path / f"{minutes}min.wav"
        with sf.SoundFile(path, "w", samplerate=48000, channels=2, subtype="PCM_16") as out:
            for _ in range(6 * minutes):
                out.write(clip)
        done = subprocess.run([sys.executable, "-c", PEAK_MEMORY, str(trained_sample_run), str(path)],
                              capture_output=True, text=True, check=True)
        windows, peak_kb = map(int, done.stdout.split())
        assert windows == 6 * minutes
        peaks[minutes] = peak_kb / 1024
    # reading the 9-minute file whole would hold ~140 MB of samples and ~190 MB of resampled views more
    assert peaks[9] - peaks[3] < 40, peaks


def test_explain_refuses_a_model_without_attention_and_says_which_head(
        trained_sample_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The `sample` and `envsound` presets pool by the temporal mean: explain says so instead of drawing."""
    from stasc.models import build_model

    stap = Predictor.from_checkpoint(RunDir(trained_sample_run).split("fold-0").best)
    settings = stap.config.to_dict()
    settings["model"]["pooling"] = "mean"
    config = type(stap.config).parse(settings)
    mean = Predictor(config, stap.classes, stap.normalizers, build_model(config.model)).save(tmp_path / "mean.ckpt")
    clip = FSDD / "recordings" / "1_theo_1.wav"
    out = tmp_path / "mean.png"
    assert main(["explain", "--model", str(mean), str(clip), "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert f"{mean}: its pooling head (mean) has no attention to show" in error and "model.pooling=stap" in error
    assert not out.exists()
    with pytest.raises(ValueError, match=r"pooling head \(mean\) has no attention"):  # before any audio is read
        explain_file(Predictor.from_checkpoint(mean), tmp_path / "not-there.wav")


def test_explain_and_info_on_a_model_of_two_averaged_members(
        trained_sample_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a user's `--set model.members=2` STAP model, then the commands they try on it: explain draws the members'
    # mean attention (still a distribution), info counts both members
    import torch

    from stasc.models import MemberAverage, build_model

    stap = Predictor.from_checkpoint(RunDir(trained_sample_run).split("fold-0").best)
    settings = stap.config.to_dict()
    settings["model"]["members"] = 2
    config = type(stap.config).parse(settings)
    torch.manual_seed(0)
    averaged = Predictor(config, stap.classes, stap.normalizers, build_model(config.model)).save(tmp_path / "two.ckpt")
    predictor = Predictor.from_checkpoint(averaged)
    assert isinstance(predictor.model, MemberAverage)
    clip = FSDD / "recordings" / "1_theo_1.wav"
    explanation = explain_file(predictor, clip)
    for weights in (explanation.temporal, explanation.bands):
        assert (weights >= 0).all() and weights.sum() == pytest.approx(1.0)
    out = tmp_path / "two.png"
    assert main(["explain", "--model", str(averaged), str(clip), "--out", str(out)]) == 0
    assert out.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["info", str(averaged), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    settings["model"]["members"] = 1  # the fixture's run may already average members (sample does)
    single = sum(p.numel() for p in build_model(type(stap.config).parse(settings).model).parameters())
    assert info["network"]["members"] == 2 and info["complexity"]["parameters"] == 2 * single
