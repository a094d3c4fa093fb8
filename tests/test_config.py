from dataclasses import dataclass, field
from typing import Literal

import pytest
import yaml

from stasc.config import ConfigError, from_dict, parse_assignments, to_dict, with_overrides
from stasc.features.spec import FeatureSpec


@dataclass
class Inner:
    size: tuple[int, int] = (128, 128)
    mode: Literal["a", "b"] = "a"


@dataclass
class Outer:
    name: str = "x"
    rate: float = 1e-4
    epochs: int = 100
    flag: bool = False
    limit: int | None = None
    inner: Inner = field(default_factory=Inner)
    items: list[Inner] = field(default_factory=list)


def test_round_trip_through_yaml() -> None:
    config = Outer(items=[Inner(size=(64, 32), mode="b")])
    text = yaml.safe_dump(to_dict(config))
    assert from_dict(Outer, yaml.safe_load(text)) == config


@pytest.mark.parametrize(
    "data,match",
    [
        ({"nmae": "y"}, "unknown config key\\(s\\) nmae; known keys: epochs, flag"),
        ({"inner": {"sise": [1, 2]}}, "unknown config key\\(s\\) inner.sise"),
        ({"epochs": "many"}, "epochs: expected an integer, got 'many'"),
        ({"epochs": 1.5}, "epochs: expected an integer"),
        ({"flag": "yes"}, "flag: expected true or false"),
        ({"inner": {"mode": "c"}}, "inner.mode: 'c' is not one of \\['a', 'b'\\]"),
        ({"inner": {"size": [1]}}, "inner.size: expected 2 items"),
        ({"items": [{"mode": "z"}]}, "items\\[0\\].mode"),
    ],
)
def test_bad_keys_and_values_name_the_key_and_value(data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        from_dict(Outer, data)


def test_numbers_and_optionals_are_coerced() -> None:
    assert from_dict(Outer, {"rate": "1e-3"}).rate == 1e-3
    config = from_dict(Outer, {"rate": 1, "limit": None})
    assert config.rate == 1.0 and isinstance(config.rate, float) and config.limit is None
    assert from_dict(Outer, {"limit": 3}).limit == 3


def test_parse_assignments_nested_and_typed() -> None:
    assert parse_assignments(["train.max_epochs=1", "train.lr=1e-3", "name=abc", "inner.size=[1, 2]"]) == {
        "train": {"max_epochs": 1, "lr": "1e-3"},  # YAML 1.1 text; the typed config makes it a float
        "name": "abc",
        "inner": {"size": [1, 2]},
    }
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignments(["novalue"])


def test_with_overrides_validates() -> None:
    config = with_overrides(Outer(), {"inner": {"mode": "b"}})
    assert config.inner.mode == "b" and config.inner.size == (128, 128)
    with pytest.raises(ConfigError, match="unknown"):
        with_overrides(Outer(), {"bogus": 1})


def test_feature_spec_from_dict_uses_its_own_validation() -> None:
    spec = from_dict(FeatureSpec, {"kind": "mfcc", "sample_rate": 8000, "n_fft": 256, "hop_length": 64})
    assert spec.sample_rate == 8000
    with pytest.raises(ConfigError, match="n_mfcc \\(300\\) cannot exceed"):
        from_dict(FeatureSpec, {"n_mfcc": 300})
    with pytest.raises(ConfigError, match="kind: 'mel' is not one of"):
        from_dict(FeatureSpec, {"kind": "mel"})
