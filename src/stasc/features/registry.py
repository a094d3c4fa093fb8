"""The feature kinds: each registers its typed settings, its transform and the paper names it owns.

A feature kind is one module (``stasc/features/kinds/``) that defines a :class:`FeatureSettings`
subclass (its ``kind`` a literal), a :class:`FeatureTransform` subclass and calls
:func:`register_feature`. Everything else (the config parser, the cache, extraction, export, the
CLI's choices) asks this registry, so a new kind touches no other file.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from pydantic import PositiveFloat, ValidationError
from torch import Tensor, nn

from stasc.features.functional import frame_count
from stasc.schema import ConfigError, PositiveInt, Section, config_error


class FeatureSettings(Section):
    """What every spectrogram kind has: its name, analysis rate, frame hop and dB floor."""

    kind: str
    sample_rate: PositiveInt = 44100
    hop_length: PositiveInt = 512
    top_db: PositiveFloat = 80.0
    # rows ordered by frequency (bands, bins), so stretching them moves energy up or down the spectrum;
    # cepstral rows are not (augment.freq_warp refuses them)
    rows_are_frequencies: ClassVar[bool] = True
    # rows in dB of a power (log-mel, CQT): silence lies at the top_db floor, a gain adds to every row (not PCEN's)
    rows_in_db: ClassVar[bool] = True

    @property
    @abstractmethod
    def n_rows(self) -> int:
        """Height of the spectrogram (coefficients, bands or bins)."""

    @property
    def min_samples(self) -> int:
        """The shortest recording this feature can describe (one full analysis frame)."""
        return self.hop_length

    def frames(self, n_samples: int) -> int:
        """Frames of ``n_samples`` at ``sample_rate`` (centred frames, librosa's convention)."""
        return frame_count(n_samples, self.hop_length)

    def identity(self) -> dict[str, Any]:
        """The fields that decide this feature's values (what the cache hashes)."""
        return self.to_dict()

    @property
    def label(self) -> str:
        """The paper's name when these are one of its features unchanged, else the kind."""
        return next((name for name, named in named_features().items() if named == self), self.kind)

    @classmethod
    def concrete(cls, fields: Mapping[str, Any]) -> type[FeatureSettings] | None:
        """The registered settings class ``fields`` describe (by ``kind``, or by a paper ``name``)."""
        named = named_features()
        if fields.get("name") in named:
            return type(named[str(fields["name"])])
        kind = _KINDS.get(str(fields.get("kind")))
        return kind.transform.settings_class if kind is not None else None


class FeatureTransform(nn.Module, ABC):
    """Channel views ``Tensor (..., V, samples)`` at the settings' rate → ``(..., V·k, rows, frames)``.

    ``k = views_per_view`` (2 for HPSS, which splits each view into harmonic and percussive).
    Work runs in chunks of ``chunk_size`` signals so a large batch never holds every intermediate
    at once: small on CPU (intermediates stay in the caches), large on accelerators.
    """

    settings_class: ClassVar[type[FeatureSettings]]
    views_per_view: ClassVar[int] = 1
    cpu_chunk_size: ClassVar[int] = 3
    accelerator_chunk_size: ClassVar[int] = 64

    def __init__(self, settings: FeatureSettings, *, chunk_size: int | None = None) -> None:
        super().__init__()
        if not isinstance(settings, self.settings_class):
            raise TypeError(
                f"{type(self).__name__} takes {self.settings_class.__name__}, got {type(settings).__name__}"
            )
        if chunk_size is not None and chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        self.settings = settings
        self.chunk_size = chunk_size

    @abstractmethod
    def signals(self, signals: Tensor) -> Tensor:
        """``Tensor (N, samples)`` → ``(N, k, rows, frames)``."""

    def forward(self, views: Tensor) -> Tensor:
        """``Tensor (..., V, samples)`` → ``(..., V·k, rows, frames)``."""
        if views.ndim < 2:
            raise ValueError(f"expected (..., views, samples), got shape {tuple(views.shape)}")
        lead = views.shape[:-1]
        flat = views.reshape(-1, views.shape[-1])
        size = self.chunk_size or (self.cpu_chunk_size if views.device.type == "cpu" else self.accelerator_chunk_size)
        parts = [self.signals(chunk) for chunk in flat.split(size)]
        out = parts[0] if len(parts) == 1 else torch.cat(parts)  # N, k, R, T
        return out.reshape(*lead[:-1], lead[-1] * out.shape[1], *out.shape[-2:])

    def graph(self) -> nn.Module | None:
        """An export-friendly module doing :meth:`forward` on ``(V, samples)`` (ONNX, TorchScript),
        or None when the kind cannot run inside a graph (the model is then exported from features)."""
        return None

    def gain_response(self) -> Tensor:
        """How each row moves when the input is 1 dB louder, ``(rows,)`` float32; what the gain
        augmentation adds, scaled by its draw, to a patch of this feature."""
        return torch.zeros(self.settings.n_rows)

    def band_response(self) -> Tensor:
        """How each row moves when its own frequency band is 1 dB louder, ``(rows,)`` float32: one unit of a feature
        in dB; what the random equaliser (``augment.filter_db``) scales."""
        return torch.ones(self.settings.n_rows)


@dataclass(frozen=True)
class FeatureKind:
    """A registered kind: its transform (which names its settings class) and its paper names."""

    transform: type[FeatureTransform]
    named: Mapping[str, FeatureSettings] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.transform.settings_class.model_fields["kind"].default)


_KINDS: dict[str, FeatureKind] = {}


def register_feature(transform: type[FeatureTransform], *, named: Mapping[str, FeatureSettings] | None = None) -> None:
    """Make a kind known by its settings' ``kind`` literal, with the paper names it owns."""
    kind = FeatureKind(transform, dict(named or {}))
    if kind.name in _KINDS and _KINDS[kind.name].transform is not transform:
        raise ValueError(f"feature kind {kind.name!r} is registered twice")
    clash = set(kind.named) & {n for k in _KINDS.values() if k.name != kind.name for n in k.named}
    if clash:
        raise ValueError(f"feature names {sorted(clash)} are registered by another kind")
    _KINDS[kind.name] = kind


def feature_kinds() -> dict[str, FeatureKind]:
    """Every registered kind by name."""
    return dict(_KINDS)


def named_features() -> dict[str, FeatureSettings]:
    """Every paper name (``mfcc2048``, ``cqt`` …) with its settings."""
    return {name: settings for kind in _KINDS.values() for name, settings in kind.named.items()}


def parse_feature(item: object) -> FeatureSettings:
    """Settings from a paper name or kind name (``"mfcc2048"``, ``"logmel"``), a mapping
    ``{kind: logmel, n_mels: 40}``, or a named one with changed fields ``{name: mfcc2048, hop_length: 512}``;
    a bad one raises :class:`ConfigError`."""
    try:
        return feature_settings(item)
    except ValidationError as err:
        raise config_error(err, FeatureSettings, data=item) from None


def feature_settings(item: object) -> FeatureSettings:
    """:func:`parse_feature` for a validator: a bad field raises pydantic's ``ValidationError`` (so a
    config reports it at its full key path, ``input.features[0].n_fft``)."""
    if isinstance(item, FeatureSettings):
        return item
    named = named_features()
    if isinstance(item, str):
        if item in named:
            return named[item]
        if item in _KINDS:
            return _KINDS[item].transform.settings_class.model_validate({})
        raise ConfigError(f"unknown feature {item!r}; paper names: {', '.join(named)}; kinds: {', '.join(_KINDS)}")
    if not isinstance(item, Mapping):
        raise ConfigError(f"expected a feature name or a mapping with a kind, got {item!r}")
    fields = dict(item)
    if "name" in fields:
        name = fields.pop("name")
        if name not in named:
            raise ConfigError(f"name: unknown feature {name!r}; paper names: {', '.join(named)}")
        base = named[name]
        if fields.get("kind", base.kind) != base.kind:
            raise ConfigError(f"{name} is a {base.kind} feature, not {fields['kind']}; "
                              f"name a {fields['kind']} feature by its kind alone")
        return type(base).model_validate({**base.to_dict(), **fields})
    kind = fields.get("kind")
    if kind not in _KINDS:
        raise ConfigError(f"kind: got {kind!r}, expected one of {', '.join(_KINDS)}")
    return _KINDS[str(kind)].transform.settings_class.model_validate(fields)


def build_transform(settings: FeatureSettings, *, chunk_size: int | None = None) -> FeatureTransform:
    """The transform of a settings' kind."""
    if settings.kind not in _KINDS:
        raise ValueError(f"feature kind {settings.kind!r} is not registered; kinds: {', '.join(_KINDS)}")
    return _KINDS[settings.kind].transform(settings, chunk_size=chunk_size)
