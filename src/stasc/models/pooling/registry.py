"""Pooling heads: each turns the last feature map O ∈ R^{S×T} into one vector x ∈ R^S.

A head is one module (``stasc/models/pooling/``) that defines a :class:`PoolingSettings` subclass
(its ``kind`` a literal) and a :class:`PoolingHead` subclass, then calls :func:`register_pooling`.
The model config, the network and explain ask this registry, so a new head touches no other file.
Dimension letters: B batch, S spatial rows (F·C), T time steps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import ClassVar, NamedTuple

from pydantic import ValidationError
from torch import Tensor, nn

from stasc.schema import ConfigError, Section, config_error


class Pooled(NamedTuple):
    x: Tensor  # (B, S)
    a_tem: Tensor | None  # (B, T), a distribution over time, for heads that attend
    a_spa: Tensor | None  # (B, S), a distribution over spatial rows


class PoolingSettings(Section):
    """A head's settings: its registered ``kind`` and its own fields."""

    kind: str

    @classmethod
    def concrete(cls, fields: Mapping[str, object]) -> type[PoolingSettings] | None:
        """The registered settings class of ``fields["kind"]``."""
        head = _HEADS.get(str(fields.get("kind")))
        return head.settings_class if head is not None else None


class PoolingHead(nn.Module, ABC):
    """``o (B, S, T)`` → :class:`Pooled`; ``a_tem``/``a_spa`` are None for a head without attention."""

    settings_class: ClassVar[type[PoolingSettings]]
    # whether forward gives a_tem and a_spa: `explain` asks before it decodes any audio
    has_attention: ClassVar[bool] = False

    def __init__(self, settings: PoolingSettings, *, spatial: int, temporal: int) -> None:
        super().__init__()
        if not isinstance(settings, self.settings_class):
            raise TypeError(
                f"{type(self).__name__} takes {self.settings_class.__name__}, got {type(settings).__name__}"
            )
        self.settings = settings

    @abstractmethod
    def forward(self, o: Tensor) -> Pooled: ...


_HEADS: dict[str, type[PoolingHead]] = {}


def _kind(head: type[PoolingHead]) -> str:
    return str(head.settings_class.model_fields["kind"].default)


def register_pooling(head: type[PoolingHead]) -> None:
    """Make a head known by its settings' ``kind`` literal."""
    name = _kind(head)
    if name in _HEADS and _HEADS[name] is not head:
        raise ValueError(f"pooling head {name!r} is registered twice")
    _HEADS[name] = head


def pooling_kinds() -> list[str]:
    return list(_HEADS)


def parse_pooling(item: object) -> PoolingSettings:
    """Settings from a kind name (``"stap"``) or a mapping (``{kind: stap, norm: true}``); a bad one raises
    :class:`ConfigError`."""
    try:
        return pooling_settings(item)
    except ValidationError as err:
        raise config_error(err, PoolingSettings, data=item) from None


def pooling_settings(item: object) -> PoolingSettings:
    """:func:`parse_pooling` for a validator: a bad field raises pydantic's ``ValidationError`` (so a
    config reports it at its key path, ``model.pooling.scale``)."""
    if isinstance(item, PoolingSettings):
        return item
    fields = {"kind": item} if isinstance(item, str) else dict(item) if isinstance(item, Mapping) else None
    if fields is None or fields.get("kind") not in _HEADS:
        got = fields.get("kind") if fields else item
        raise ConfigError(f"got {got!r}, expected one of {', '.join(_HEADS)} (or a mapping with a kind)")
    return _HEADS[str(fields["kind"])].settings_class.model_validate(fields)


def build_pooling(settings: PoolingSettings, *, spatial: int, temporal: int) -> PoolingHead:
    if settings.kind not in _HEADS:
        raise ValueError(f"pooling head {settings.kind!r} is not registered; heads: {', '.join(_HEADS)}")
    return _HEADS[settings.kind](settings, spatial=spatial, temporal=temporal)
