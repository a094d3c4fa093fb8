"""`benchmarks/tuning.py` end to end on a few FSDD clips per class and speaker, one epoch: the
validation table and its promise that no test fold's result is read."""

import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from stasc.config import load_experiment, merge

BENCHMARK = Path(__file__).resolve().parents[2] / "benchmarks" / "tuning.py"
VARIANTS = ("sample, as before (STAP, mixup, no augmentation)",
            "temporal mean + shift, gain, masks, frequency warp 0.15")


def run_tuning(out: Path) -> dict:
    done = subprocess.run([sys.executable, str(BENCHMARK), "--data", "fsdd", "--epochs", "1", "--clips-per-class", "2",
                           "--variants", ";".join(VARIANTS), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no test fold was read" in done.stdout
    return json.loads((out / "tuning.json").read_text())


@pytest.mark.slow
def test_variants_are_scored_on_validation_speakers_and_never_on_the_test_folds(tmp_path: Path) -> None:
    first = run_tuning(tmp_path)
    assert list(first["variants"]) == list(VARIANTS)
    for name, variant in first["variants"].items():
        assert len(variant["validation_last"]) == 5, name  # one validation speaker per speaker-grouped split
        assert 0 <= variant["mean"] <= 1 and variant["epochs"] == 1
        for fold in (tmp_path / variant["run"]).glob("fold-*"):
            assert json.loads((fold / "result.json").read_text())["protocol"]["selection"] == "validation"
    assert len(first["split_winners"]) == 5 and set(first["split_winners"]) <= set(VARIANTS)
    assert (tmp_path / "tuning.md").is_file() and (tmp_path / "tuning.png").stat().st_size > 0

    # every fold is finished, so a rerun resumes; with every test result overwritten it must say the same
    for fold in tmp_path.glob("*/fold-*"):
        result = json.loads((fold / "result.json").read_text())
        (fold / "result.json").write_text(json.dumps({**result, "test_accuracy": 0.0}))
        (fold / "predictions.csv").write_text("not predictions\n")
    again = run_tuning(tmp_path)
    for name in VARIANTS:
        assert again["variants"][name]["validation_last"] == first["variants"][name]["validation_last"]
    assert again["split_winners"] == first["split_winners"]


def tuning_variants(data: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.syspath_prepend(str(BENCHMARK.parent))
    return importlib.import_module("tuning").VARIANTS[data]


@pytest.mark.parametrize("data", ["fsdd", "esc10"])
def test_each_variant_is_the_recipe_its_name_says_whatever_the_preset_says_now(
        data: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # a variant written as "the preset plus X" changes meaning once the preset takes X in
    for name, (preset, changes) in tuning_variants(data, monkeypatch).items():
        config = load_experiment(preset, changes)
        warp = re.search(r"warp (0\.\d+)", name)
        assert config.augment.freq_warp == (float(warp.group(1)) if warp else 0.0), name
        stretch = re.search(r"time stretch (0\.\d+)", name)
        assert config.augment.time_stretch == (float(stretch[1]) if stretch else 0.0), name
        assert config.train.precision == ("bf16-mixed" if "bf16" in name else "auto"), name
        kinds = [spec.kind for spec in config.input.features]
        assert kinds[-1:] == (["pcen"] if "PCEN channel" in name else ["logmel"]), name
        if "PCEN channel" in name:  # on the log-mel's own grid, one more input channel
            pcen, mel = config.input.features[-1].to_dict(), config.input.features[0].to_dict()
            assert {k: v for k, v in pcen.items() if k in mel and k != "kind"} == {
                k: v for k, v in mel.items() if k != "kind"} and config.model.in_channels == len(kinds), name
        adamw = re.search(r"AdamW (0\.\d+)", name)
        assert (config.train.optimizer, config.train.weight_decay) == (
            ("adamw", float(adamw[1])) if adamw else ("adam", 5e-4)), name
        noise = re.search(r"noise floor at (\d+)-(\d+) dB SNR", name)
        assert config.augment.noise_snr_db == ((float(noise[1]), float(noise[2])) if noise else None), name
        averaged = re.search(r"weights averaged over (\d+) epochs", name)
        assert config.train.ema_epochs == (float(averaged[1]) if averaged else None), name
        if "full width" in name:
            assert config.model.width_multiplier == 1.0, name
        if "temporal mean" in name:
            assert config.model.pooling.kind == "mean", name
        members = re.search(r"(\d) members averaged", name)
        assert config.model.members == (int(members[1]) if members else 1), name
        warps = re.search(r"test-time warps ([\d./]+)", name)
        assert config.model.test_time_warps == ([float(f) for f in warps[1].split("/")] if warps else [1.0]), name
        if data == "fsdd":  # tuned at 1/4 width until the 1/2-width variant won
            width = re.search(r"(\d)/(\d) width", name)
            assert config.model.width_multiplier == (int(width[1]) / int(width[2]) if width else 0.25), name
        if data == "esc10":  # tuned at lr 0.001 until the lr-0.002 variant won
            lr = re.search(r"lr (0\.\d+)", name)
            assert config.train.lr == (float(lr[1]) if lr else 0.001), name
            assert config.model.pooling.kind == ("meanmax" if "mean + max" in name else "mean"), name
            mels = [spec for spec in config.input.features if spec.kind == "logmel"]  # a PCEN channel: checked above
            rates = [spec.sample_rate for spec in mels]
            assert rates == ([22050, 44100] if "stacked" in name else [44100] if "44.1 kHz" in name else [22050]), name
            assert config.model.in_channels == len(config.input.features), name
            assert config.input.patch_width == (216 if "whole clip" in name else 128), name
            hops = [1024 if spec.sample_rate == 44100 else 512 for spec in mels]
            assert [spec.hop_length for spec in mels] == ([512] if "hop 512" in name else hops), name
            assert config.input.patch_shift == (64 if "hop 512" in name else 32), name
            bands = 128 if "128 bands" in name else 64
            assert [spec.n_mels for spec in mels] == [bands] * len(rates), name
            assert config.input.patch_size[0] == config.model.input_size[0] == bands, name
            # masks cover the same share of the spectrum in the adopted 128-band recipe (16 of 128, as 8 of 64)
            wide = "masks twice as wide" in name or ("128 bands" in name and "dropout" in name)
            assert config.augment.freq_max_width == (16 if wide else 8), name
            equaliser = re.search(r"equaliser ±(\d+) dB", name)
            assert config.augment.filter_db == (float(equaliser[1]) if equaliser else 0.0), name
            dropout = re.search(r"dropout (0\.\d+)", name)
            assert config.model.dropout == (float(dropout[1]) if dropout else 0.0), name
            alpha = re.search(r"mixup alpha (\d+(?:\.\d+)?)", name)
            assert config.mixup.alpha == (float(alpha[1]) if alpha else 0.2), name
            seed = re.search(r"seed (\d+)", name)
            assert config.train.seed == (int(seed[1]) if seed else 0), name
            assert config.model.patch_weights == ("sound" if "weighted by sound" in name else "equal"), name
            silence = ("weight" if "losses weighted by sound" in name
                       else "drop" if "silent patches not trained on" in name else "keep")
            assert config.train.silent_patches == silence, name
        contrast = re.search(r"contrast ±(0\.\d+)", name)
        assert config.augment.contrast == (float(contrast[1]) if contrast else 0.0), name
        if data == "fsdd":
            assert config.model.dropout == (0.3 if "dropout 0.3" in name else 0.0), name
            assert config.input.clip_norm == ("meanstd" if "divided by its spread" in name else "mean"), name
            if "mean + max pooling" in name:
                assert config.model.pooling.kind == "meanmax", name


def test_the_sample_as_before_variant_is_stap_with_mixup_and_no_augmentation(monkeypatch: pytest.MonkeyPatch) -> None:
    before = load_experiment(*tuning_variants("fsdd", monkeypatch)["sample, as before (STAP, mixup, no augmentation)"])
    assert before.model.pooling.kind == "stap" and before.mixup.enabled and not before.augment.enabled


# preset, the tuning variant its YAML says the validation parts chose, and what re-scoring that variant's networks on
# the same validation parts chose on top (benchmarks/warps.py: test-time warps and patch weights change no training)
TUNED_PRESETS = [("fsdd", "sample",
                  "warp 0.15, 1/2 width, bf16, 2 members averaged, equaliser ±6 dB, mel bands from 60 Hz, "
                  "contrast ±0.3, dropout 0.3",
                  {"model": {"test_time_warps": [0.9, 1.0, 1.1]}}),
                 ("esc10", "envsound",
                  "envsound + frequency warp 0.1, lr 0.002, bf16, 2 members averaged, equaliser ±6 dB, dropout 0.3, "
                  "44.1 kHz, 128 bands, patches weighted by sound, silent patches not trained on", {})]


@pytest.mark.parametrize(("data", "preset", "chosen", "rescored"), TUNED_PRESETS)
def test_each_tuned_preset_is_exactly_the_variant_its_yaml_says_the_validation_parts_chose(
        data: str, preset: str, chosen: str, rescored: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    # the preset's figures in the README and YAML are that variant's; a preset edited without a tuning run breaks this
    variant_preset, changes = tuning_variants(data, monkeypatch)[chosen]
    assert variant_preset == preset
    variant = load_experiment(preset, merge(changes, rescored))
    # a variant tuned under bf16 autocast is the preset's precision auto on the tuning CPU (AMX): only that may differ
    assert variant.train.precision in ("auto", "bf16-mixed")
    assert load_experiment(preset, {"train": {"precision": variant.train.precision}}) == variant


def test_a_second_run_into_the_same_folder_keeps_the_first_runs_variants_in_the_table(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARK.parent))
    tuning = importlib.import_module("tuning")

    def row(mean: float) -> dict:
        return {"validation_last": [mean] * 5, "validation_best": [mean] * 5, "mean": mean, "std": 0.0, "epochs": 1,
                "seconds": 60.0, "run": "r", "preset": "sample", "changes": {}}

    tuning.write_outputs(tmp_path, "fsdd", tuning.with_earlier(tmp_path, "fsdd", "groups", {"A": row(0.8)}))
    second = tuning.with_earlier(tmp_path, "fsdd", "groups", {"B": row(0.9), "C": row(0.7)})
    assert list(second) == ["A", "B", "C"] and second["A"]["mean"] == 0.8
    tuning.write_outputs(tmp_path, "fsdd", second)
    table = json.loads((tmp_path / "tuning.json").read_text())
    assert list(table["variants"]) == ["A", "B", "C"] and table["split_winners"] == ["B"] * 5
    assert "| A | 80.0 ± 0.0 |" in (tmp_path / "tuning.md").read_text()
    # a variant run again takes its new figures; another data set's or validation part's folder is not mixed in
    assert tuning.with_earlier(tmp_path, "fsdd", "groups", {"A": row(0.6)})["A"]["mean"] == 0.6
    assert list(tuning.with_earlier(tmp_path, "esc10", "groups", {"D": row(0.5)})) == ["D"]
    assert list(tuning.with_earlier(tmp_path, "fsdd", "fold", {"D": row(0.5)})) == ["D"]
    (tmp_path / "tuning.json").write_text("{not json")
    assert list(tuning.with_earlier(tmp_path, "fsdd", "groups", {"D": row(0.5)})) == ["D"]
