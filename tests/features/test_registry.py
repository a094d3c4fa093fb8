"""The feature registry: paper names and kinds, typed settings, transforms, gain responses, graphs."""

import math
from pathlib import Path

import pydantic
import pytest
import torch

from stasc.audio import load_views
from stasc.config import ConfigError
from stasc.features import build_transform, feature_kinds, named_features, parse_feature
from stasc.features.kinds.cqt import CQT, CQTSettings
from stasc.features.kinds.hpss_mfcc import HPSSMFCC, HPSSMFCCSettings
from stasc.features.kinds.logmel import LogMel, LogMelSettings
from stasc.features.kinds.mfcc import MFCC, MFCCSettings
from stasc.features.mel import MelGraph
from stasc.features.registry import register_feature

BUILT_IN = {"mfcc": (MFCC, MFCCSettings), "logmel": (LogMel, LogMelSettings), "cqt": (CQT, CQTSettings),
            "hpss_mfcc": (HPSSMFCC, HPSSMFCCSettings)}


def test_the_built_in_kinds_and_paper_names_are_registered() -> None:
    kinds = feature_kinds()
    for name, (transform, settings) in BUILT_IN.items():
        assert kinds[name].transform is transform and transform.settings_class is settings
    named = named_features()
    assert {name: s.kind for name, s in named.items() if name in ("mfcc2048", "mfcc1024", "cqt", "hpss_mfcc2048")} == {
        "mfcc2048": "mfcc", "mfcc1024": "mfcc", "cqt": "cqt", "hpss_mfcc2048": "hpss_mfcc"}
    assert (named["mfcc2048"].n_fft, named["mfcc2048"].hop_length) == (2048, 1024)
    assert (named["mfcc1024"].n_fft, named["mfcc1024"].hop_length) == (1024, 512)


def test_every_way_of_naming_a_feature() -> None:
    paper = parse_feature("mfcc2048")
    assert isinstance(paper, MFCCSettings) and paper.label == "mfcc2048"
    by_kind = parse_feature("logmel")  # a kind alone: its defaults
    assert by_kind == LogMelSettings() and by_kind.label == "logmel"
    settings = parse_feature({"kind": "logmel", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 40})
    assert (settings.sample_rate, settings.n_fft, settings.hop_length, settings.n_mels) == (8000, 256, 64, 40)
    changed = parse_feature({"name": "mfcc2048", "n_mfcc": 64})
    assert isinstance(changed, MFCCSettings) and changed.n_mfcc == 64 and changed.n_fft == 2048
    assert changed.label == "mfcc"  # no longer the paper's feature
    # the same fields written as a kind are the paper's feature: one label, one cache
    assert parse_feature({"kind": "mfcc", "n_fft": 2048, "hop_length": 1024}).label == "mfcc2048"
    assert parse_feature({"name": "mfcc2048", "kind": "mfcc"}) == paper  # its own kind may be repeated
    assert parse_feature(paper) is paper


@pytest.mark.parametrize(
    "item,match",
    [
        ({"name": "mfcc2048", "kind": "logmel"},
         "mfcc2048 is a mfcc feature, not logmel; name a logmel feature by its kind alone"),
        ({"name": "mfcc4096"}, "name: unknown feature 'mfcc4096'; paper names: .*mfcc2048"),
        ("mel", "unknown feature 'mel'; paper names: .*; kinds: .*logmel"),
        ({"kind": "mel"}, "kind: got 'mel', expected one of .*logmel"),
        ({"n_fft": 512}, "kind: got None, expected one of .*mfcc"),
        (3, "expected a feature name or a mapping with a kind, got 3"),
        ({"kind": "mfcc", "n_bins": 84}, "unknown config key n_bins; known keys: .*n_mfcc"),
        ({"kind": "logmel", "n_mfcc": 20}, "unknown config key n_mfcc"),  # a log-mel has no DCT
        ({"kind": "mfcc", "top_db": 0}, "top_db: input should be greater than 0, got 0"),
    ],
)
def test_bad_feature_entries_are_refused_clearly(item: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_feature(item)


def test_settings_are_frozen_values_with_a_dict_form() -> None:
    settings = parse_feature("cqt")
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        settings.n_bins = 84  # type: ignore[misc]
    assert hash(settings) == hash(parse_feature("cqt"))  # usable as a key (transforms are cached by settings)
    data = settings.to_dict()
    assert data == {"kind": "cqt", "sample_rate": 44100, "hop_length": 512, "top_db": 80.0, "n_bins": 110,
                    "bins_per_octave": 12, "fmin": None, "filter_scale": 4.0, "resampler": "soxr"}
    assert parse_feature(data) == settings and parse_feature(data).label == "cqt"
    assert settings.identity() == data  # what the cache hashes: every field
    fewer = settings.replaced(n_bins=84)
    assert fewer.n_bins == 84 and settings.n_bins == 110 and isinstance(fewer, CQTSettings)
    with pytest.raises(ConfigError, match="n_bins: input should be greater than 0, got 0"):
        settings.replaced(n_bins=0)


def test_rows_and_shortest_recording_of_each_kind() -> None:
    cases = {  # settings → (rows, min_samples)
        "mfcc2048": (128, 2048), "mfcc1024": (128, 1024), "cqt": (110, 4 * 512), "hpss_mfcc2048": (128, 2048),
    }
    for name, (rows, min_samples) in cases.items():
        settings = parse_feature(name)
        assert (settings.n_rows, settings.min_samples) == (rows, min_samples), name
    assert parse_feature({"kind": "logmel", "n_mels": 40}).n_rows == 40
    assert parse_feature({"name": "mfcc2048", "n_mfcc": 20}).n_rows == 20
    assert parse_feature({"name": "hpss_mfcc2048", "hpss_n_fft": 4096}).min_samples == 4096


def test_build_transform_gives_each_kinds_module() -> None:
    for name, (transform, _) in BUILT_IN.items():
        built = build_transform(parse_feature(name))
        assert type(built) is transform and built.settings == parse_feature(name)
    with pytest.raises(ValueError, match="feature kind 'mfcc' is registered twice"):
        register_feature(type("OtherMFCC", (MFCC,), {}))
    # the same class with the same names again: a no-op
    register_feature(MFCC, named={"mfcc2048": parse_feature("mfcc2048"), "mfcc1024": parse_feature("mfcc1024")})
    with pytest.raises(ValueError, match=r"feature names \['mfcc2048'\] are registered by another kind"):
        register_feature(LogMel, named={"mfcc2048": LogMelSettings()})
    # the refused registration changed nothing
    assert named_features()["mfcc2048"] == MFCCSettings(n_fft=2048, hop_length=1024)
    assert feature_kinds()["logmel"].transform is LogMel and dict(feature_kinds()["logmel"].named) == {}


@pytest.fixture(scope="module")
def real_second(tut_clips: list[Path]) -> torch.Tensor:
    """One second of real stereo audio as views L, R, mid at 44.1 kHz."""
    return load_views(tut_clips[6], 44100)[:, 44100:88200]


@pytest.mark.parametrize("name", ["logmel", "mfcc2048", "cqt", "hpss_mfcc2048"])
def test_gain_response_is_how_each_row_moves_per_db(name: str, real_second: torch.Tensor) -> None:
    transform = build_transform(parse_feature(name))
    response = transform.gain_response()
    assert response.shape == (transform.settings.n_rows,) and response.dtype == torch.float32
    if name == "logmel":
        torch.testing.assert_close(response, torch.ones(128), rtol=0, atol=0)  # every band +1 dB
    elif name == "cqt":
        torch.testing.assert_close(response, torch.zeros(110), rtol=0, atol=0)  # dB relative to each view's max
    else:  # the orthonormal DCT of a constant: all in c0
        assert response[0] == pytest.approx(math.sqrt(128), rel=1e-6)
        assert response[1:].abs().max() < 1e-5
    views = real_second[:1]  # one view: what matters is each row
    louder = views * 10 ** (1 / 20)
    moved = (transform(louder) - transform(views)).double()  # V·k, rows, frames
    expected = response.double()[None, :, None].expand_as(moved)
    # float32 rounding of the dB values, the HPSS and the DCT: measured 6e-5 (log-mel) to 3e-4 dB
    # (HPSS-MFCC), 1.5e-3 dB in the CQT's near-floor bins; a wrong response is off by 1 dB (log-mel,
    # CQT) or by 11 dB (MFCC's c0)
    torch.testing.assert_close(moved, expected, rtol=0, atol=3e-3)


def test_mel_kinds_export_a_graph_and_the_others_do_not() -> None:
    for name in ("mfcc2048", "logmel"):
        assert isinstance(build_transform(parse_feature(name)).graph(), MelGraph)
    for name in ("cqt", "hpss_mfcc2048"):
        assert build_transform(parse_feature(name)).graph() is None
    graph = build_transform(parse_feature({"kind": "logmel", "n_mels": 40})).graph()
    views = torch.randn(2, 30000)
    # float64 graph, float32 transform: dB rounding (measured 3e-6 dB)
    torch.testing.assert_close(graph(views), build_transform(parse_feature({"kind": "logmel", "n_mels": 40}))(views),
                               rtol=0, atol=1e-4)
