"""Typed configuration: dataclasses built from plain dicts (YAML, ``--set key=value``) with checks.

:func:`from_dict` builds any (nested) config dataclass from a dict and refuses an unknown or
mistyped key with a message that names the key, the value and what was expected.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from stasc.features.spec import FeatureSpec
from stasc.models.config import ModelConfig

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value or key that is not allowed."""


def _coerce(value: Any, annotation: Any, where: str) -> Any:
    """``value`` checked against (and gently converted to) a type annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, option, where)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{where}: {value!r} fits none of {annotation}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: {value!r} is not one of {list(args)}")
        return value
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping for {annotation.__name__}, got {value!r}")
        return from_dict(annotation, value, where=where)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} items, got {value!r}")
            return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item_type = args[0] if args else Any
        items = [_coerce(v, item_type, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, str):
            # YAML 1.1 reads "1e-4" (no dot) as a string: accept any numeric text
            try:
                return float(value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(annotation, type) and not isinstance(value, annotation):
        raise ConfigError(f"{where}: expected {annotation.__name__}, got {value!r}")
    return value


def from_dict(cls: type[T], data: Mapping[str, Any], *, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; unknown keys and wrong types raise :class:`ConfigError`."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        prefix = f"{where}." if where else ""
        raise ConfigError(
            f"unknown config key(s) {', '.join(prefix + k for k in unknown)}; "
            f"known keys{' of ' + where if where else ''}: {', '.join(sorted(fields))}"
        )
    kwargs = {
        name: _coerce(value, hints[name], f"{where}.{name}" if where else name) for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"{where or cls.__name__}: {err}") from err


def to_dict(config: Any) -> Any:
    """A config dataclass as plain lists/dicts (tuples become lists), ready for YAML or JSON."""
    if dataclasses.is_dataclass(config):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(v) for v in config]
    if isinstance(config, dict):
        return {k: to_dict(v) for k, v in config.items()}
    return config


def parse_assignments(items: Iterable[str]) -> dict[str, Any]:
    """``["a.b=1", "c=[1, 2]"]`` → ``{"a": {"b": 1}, "c": [1, 2]}``; values are read as YAML."""
    result: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as err:
            raise ConfigError(f"--set {item}: value is not valid YAML ({err})") from err
        node = result
        *parents, leaf = key.strip().split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item}: {part} is set both as a value and as a section")
        node[leaf] = value
    return result


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def with_overrides(config: T, overrides: Mapping[str, Any]) -> T:
    """A copy of a config dataclass with (nested) overrides applied and validated."""
    return from_dict(type(config), merge(to_dict(config), overrides))


# --- The experiment: everything a training run needs, as presets (YAML) with overrides ---


@dataclass
class InputConfig:
    """What the network sees: features (one → 1 channel; two → stacked channels), patches, views."""

    features: list[FeatureSpec] = field(default_factory=lambda: [FeatureSpec.named("mfcc2048")])
    mono_views: Literal[1, 3] = 1
    patch_width: int = 128
    patch_shift: int = 32
    patch_size: tuple[int, int] = (128, 128)
    cache_dtype: Literal["float32", "float16"] = "float32"
    # normalisation statistics from at most this many training clips (None: all of them)
    normalization_clips: int | None = 2000
    # not in the paper. "mean": subtract each clip's (at prediction, each window's) per-coefficient
    # mean over time, per view, before the training-set normalisation (cepstral mean normalisation):
    # removes a recording's fixed channel and loudness colouring; it helps across speakers on FSDD
    clip_norm: Literal["none", "mean"] = "none"

    def __post_init__(self) -> None:
        if not self.features:
            raise ValueError("input.features must name at least one feature")
        if len({spec.hop_length / spec.sample_rate for spec in self.features}) > 1:
            raise ValueError("stacked features must share one frame grid (hop_length / sample_rate)")
        if self.patch_width < 1 or self.patch_shift < 1:
            raise ValueError(f"patch width and shift must be positive, got {self.patch_width}, {self.patch_shift}")
        if min(self.patch_size) < 1:
            raise ValueError(f"patch_size must be positive, got {self.patch_size}")


@dataclass
class MixupConfig:
    enabled: bool = False
    alpha: float = 0.2  # not given in the paper (SPEC §4)

    def __post_init__(self) -> None:
        if self.alpha <= 0:
            raise ValueError(f"mixup.alpha must be positive, got {self.alpha}")


@dataclass
class MaskingConfig:
    """Frequency/time masking of training patches (SpecAugment; not in the paper, off by default)."""

    freq_masks: int = 0
    freq_max_width: int = 8
    time_masks: int = 0
    time_max_width: int = 16

    def __post_init__(self) -> None:
        for name in ("freq_masks", "freq_max_width", "time_masks", "time_max_width"):
            if getattr(self, name) < 0:
                raise ValueError(f"masking.{name} must be >= 0, got {getattr(self, name)}")

    @property
    def enabled(self) -> bool:
        return (self.freq_masks > 0 and self.freq_max_width > 0) or (self.time_masks > 0 and self.time_max_width > 0)


@dataclass
class TrainConfig:
    """The paper's recipe (§6.2) by default: Adam 1e-4, L2 5e-4, batch 256, ≤100 epochs, patience 20."""

    lr: float = 1e-4
    weight_decay: float = 5e-4
    batch_size: int = 256
    eval_batch_size: int = 512
    max_epochs: int = 100
    patience: int = 20
    seed: int = 0
    num_workers: int = 0
    accelerator: str = "auto"
    devices: int = 1
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "auto"  # auto: bf16-mixed on CUDA, 32-true on CPU
    channels_last: bool = True  # applied on CUDA only
    limit_train_batches: float = 1.0
    # not in the paper (constant lr): cosine decays the lr to 0 over max_epochs, which steadies the
    # epoch-to-epoch swings of validation accuracy on small sets
    lr_schedule: Literal["constant", "cosine"] = "constant"

    def __post_init__(self) -> None:
        for name in ("lr", "batch_size", "eval_batch_size", "max_epochs", "devices", "num_nodes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"train.{name} must be positive, got {getattr(self, name)}")
        if self.weight_decay < 0 or self.patience < 1 or self.num_workers < 0:
            raise ValueError(
                f"need weight_decay >= 0, patience >= 1, num_workers >= 0; got {self.weight_decay}, "
                f"{self.patience}, {self.num_workers}"
            )
        if self.lr_schedule not in ("constant", "cosine"):
            raise ValueError(f"train.lr_schedule must be constant or cosine, got {self.lr_schedule!r}")
        if not 0 < self.limit_train_batches <= 1:
            raise ValueError(f"train.limit_train_batches must be in (0, 1], got {self.limit_train_batches}")


@dataclass
class ExperimentConfig:
    """A whole run: input, network, mixup and training settings."""

    name: str = "custom"
    description: str = ""
    input: InputConfig = field(default_factory=InputConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    mixup: MixupConfig = field(default_factory=MixupConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.model.in_channels != len(self.input.features):
            raise ValueError(
                f"model.in_channels ({self.model.in_channels}) must equal the number of stacked "
                f"input.features ({len(self.input.features)})"
            )


def _expand_feature_names(data: Mapping[str, Any]) -> dict[str, Any]:
    """Let ``input.features`` list names (``mfcc2048``) or ``{name: …, field: value}`` overrides."""
    data = dict(data)
    section = data.get("input")
    if isinstance(section, Mapping) and isinstance(section.get("features"), list):
        section = dict(section)
        expanded = []
        for item in section["features"]:
            if isinstance(item, str):
                expanded.append(to_dict(FeatureSpec.named(item)))
            elif isinstance(item, Mapping) and "name" in item:
                overrides = {k: v for k, v in item.items() if k != "name"}
                expanded.append(merge(to_dict(FeatureSpec.named(str(item["name"]))), overrides))
            else:
                expanded.append(item)
        section["features"] = expanded
        data["input"] = section
    return data


def experiment_from_dict(data: Mapping[str, Any]) -> ExperimentConfig:
    return from_dict(ExperimentConfig, _expand_feature_names(data))


PRESET_DIR = Path(__file__).parent / "presets"


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_experiment(preset: str | Path, overrides: Mapping[str, Any] | None = None) -> ExperimentConfig:
    """A preset by name (``stasc/presets/NAME.yaml``) or a YAML file path, with ``--set`` overrides."""
    path = Path(preset)
    if not path.suffix:
        path = PRESET_DIR / f"{preset}.yaml"
        if not path.is_file():
            raise ConfigError(f"unknown preset {str(preset)!r}; presets: {', '.join(preset_names())}")
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    base = _expand_feature_names(data)
    if overrides:
        base = merge(base, _expand_feature_names(overrides))
    try:
        return experiment_from_dict(base)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def save_experiment(config: ExperimentConfig, path: str | Path) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(to_dict(config), sort_keys=False))
    tmp.replace(path)
