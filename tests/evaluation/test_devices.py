"""Results by device and city: the TAU reader's devices, and the breakdown the reports add."""

from pathlib import Path

import numpy as np
import pytest

from stasc.data import read_tau
from stasc.data.layouts.tau import city_of, device_of
from stasc.evaluation.devices import breakdown
from stasc.evaluation.predictions import Predictions

SCENES = ("airport", "bus")


def test_device_and_city_from_tau_file_names() -> None:
    assert device_of("audio/airport-lisbon-1000-40000-a.wav") == "a"
    assert device_of("audio/bus-milan-1115-42136-s4.wav") == "s4"
    assert device_of("audio/tram-vienna-285-8639-0-c.wav") == "c"  # TAU 2022: 1-s segments, one more field
    assert device_of("clip.wav") is None
    assert city_of("audio/airport-lisbon-1000-40000-a.wav") == "lisbon" and city_of("dog.ogg") is None


def test_the_tau_reader_takes_devices_from_source_label_or_the_file_name(tmp_path: Path, tau_meta_dir: Path) -> None:
    assert set(read_tau(tau_meta_dir).devices or ()) == {"a"}  # TAU 2019 development: device A only
    (tmp_path / "meta.csv").write_text(
        "filename\tscene_label\tidentifier\tsource_label\n"
        "audio/airport-lisbon-1000-0-a.wav\tairport\tlisbon-1000\ta\n"
        "audio/airport-lisbon-1000-0-s2.wav\tairport\tlisbon-1000\ts2\n"
        "audio/bus-milan-1-0-b.wav\tbus\tmilan-1\t\n")  # no source_label: the file name says b
    table = read_tau(tmp_path)
    assert table.devices == ("a", "s2", "b") and table.cities == ("lisbon", "lisbon", "milan")
    assert table.subset([2]).devices == ("b",)


def split(fold: int, rows: list[tuple[str, str, float]]) -> Predictions:
    """``rows`` of (file, label, probability given to airport)."""
    probs = np.array([[p, 1 - p] for _, _, p in rows])
    return Predictions([r[0] for r in rows], [r[1] for r in rows], np.full(len(rows), fold), SCENES, probs)


def test_breakdown_by_device_group_seen_and_city() -> None:
    a = split(0, [("airport-lisbon-1-0-a.wav", "airport", 0.9), ("bus-lisbon-1-0-s1.wav", "bus", 0.8)])
    b = split(1, [("airport-milan-2-0-b.wav", "airport", 0.3), ("bus-milan-2-0-s1.wav", "bus", 0.2)])
    files = [*a.filenames, *b.filenames]
    attributes = [{"device": {f: device_of(f) for f in a.filenames}, "city": {f: city_of(f) for f in a.filenames},
                   "training_devices": ["b", "s1"]},
                  {"device": {f: device_of(f) for f in b.filenames}, "city": {f: city_of(f) for f in b.filenames},
                   "training_devices": ["a", "b"]}]
    result = breakdown([a, b], attributes)
    assert result is not None and len(files) == 4
    assert result["devices"]["a"] == {"clips": 1, "accuracy": 1.0, "log_loss": pytest.approx(-np.log(0.9))}
    assert result["devices"]["b"]["accuracy"] == 0.0 and result["devices"]["s1"]["clips"] == 2
    assert result["devices"]["s1"]["accuracy"] == 0.5  # bus at 0.8 for airport is wrong, bus at 0.2 right
    assert result["groups"]["real (a, b, c)"]["clips"] == 2 and result["groups"]["simulated (s1–s6)"]["clips"] == 2
    # seen: fold 0's s1 (trained on b, s1) and fold 1's b (trained on a, b); unseen: fold 0's a, fold 1's s1
    assert result["groups"]["seen in training"]["clips"] == 2
    assert result["groups"]["seen in training"]["accuracy"] == 0.0
    assert result["groups"]["unseen in training"]["accuracy"] == 1.0
    assert set(result["cities"]) == {"lisbon", "milan"} and result["cities"]["lisbon"]["accuracy"] == 0.5
    assert breakdown([a], [{}]) is None  # nothing known: no breakdown


def test_a_cross_validation_on_a_multi_device_set_reports_by_device(tmp_path: Path, tut_dir: Path) -> None:
    import json
    import os

    from stasc.cli import main

    (tmp_path / "set" / "audio").mkdir(parents=True)
    lines = ["filename\tscene_label\tidentifier\tsource_label"]
    for clip in sorted((tut_dir / "audio").glob("*.wav")):
        scene = clip.name.split("-")[0]
        for index, device in enumerate(("a", "s1")):  # TAU 2020's naming: <scene>-<city>-<location>-<segment>-<device>
            name = f"audio/{scene}-{'lisbon' if index else 'milan'}-{scene}1-0-{device}.wav"
            os.link(clip, tmp_path / "set" / name)
            lines.append(f"{name}\t{scene}\t{scene}-{device}\t{device}")
    (tmp_path / "set" / "meta.csv").write_text("\n".join(lines) + "\n")
    assert main(["cv", "--data", str(tmp_path / "set"), "--preset", "mfcc", "--k", "2", "--out", str(tmp_path / "run"),
                 "--cache", str(tmp_path / "cache"), "--no-progress", "--set", "model.width_multiplier=0.0625",
                 "--set", "train.max_epochs=1", "--set", "train.selection=last"]) == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert set(report["breakdown"]["devices"]) == {"a", "s1"}
    assert sum(d["clips"] for d in report["breakdown"]["devices"].values()) == 20
    assert set(report["breakdown"]["cities"]) == {"lisbon", "milan"}
    assert "## By device" in (tmp_path / "run" / "report.md").read_text()
