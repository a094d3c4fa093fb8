"""The base of every configuration section: pydantic models that refuse unknown keys and bad values.

A :class:`Section` forbids keys it does not declare and non-finite numbers; :func:`config_error`
turns pydantic's errors into one :class:`ConfigError` whose lines name the key (``train.lr``), the
value given and what was expected, and, for an unknown key, the keys that are allowed there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

S = TypeVar("S", bound="Section")

# whole numbers given as whole numbers: pydantic's lax mode would take `true` (YAML's `yes`) for 1
StrictInt = Annotated[int, Strict()]
PositiveInt = Annotated[int, Strict(), Field(gt=0)]
NonNegativeInt = Annotated[int, Strict(), Field(ge=0)]


class ConfigError(ValueError):
    """A configuration value or key that is not allowed."""


class Section(BaseModel):
    """A configuration section: typed fields, unknown keys and ``nan``/``inf`` refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_default=True, frozen=True)

    @classmethod
    def parse(cls: type[S], data: Mapping[str, Any], *, where: str = "") -> S:
        """Validate ``data`` into this section, raising :class:`ConfigError` (``where`` prefixes key names)."""
        try:
            return cls.model_validate(dict(data))
        except ValidationError as err:
            raise config_error(err, cls, where=where, data=data) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, dicts and scalars, ready for YAML or JSON."""
        return self.model_dump(mode="json")

    def replaced(self: S, **changes: Any) -> S:
        """A validated copy with ``changes`` applied."""
        return type(self).parse({**self.to_dict(), **changes})


def _section_type(annotation: Any) -> type[BaseModel] | None:
    """The section class inside an annotation such as ``ModelConfig`` or ``list[BlockSpec]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _section_type(arg)
        if found is not None:
            return found
    return None


def _concrete(section: type[BaseModel] | None, data: Any) -> type[BaseModel] | None:
    """A registry's concrete settings class for ``data`` (a feature of kind ``logmel`` …), when
    ``section`` is a registry's base class (it has a ``concrete`` classmethod)."""
    if section is not None and isinstance(data, Mapping) and hasattr(section, "concrete"):
        return section.concrete(data) or section
    return section


def _locate(model: type[BaseModel], data: Any, location: tuple[int | str, ...], where: str,
            ) -> tuple[str, type[BaseModel] | None]:
    """The key path of ``location`` in the data (``input.features[0].n_fft``) and the section class that
    holds its last key. Parts that are no key of the section walked (pydantic's names of a union branch
    or a validator) are left out."""
    text, section, node = where, _concrete(model, data), data
    for index, part in enumerate(location):
        if isinstance(part, int):
            text += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            section = _concrete(section, node)
            continue
        fields = section.model_fields if section is not None else {}
        if part in fields:
            text += f".{part}" if text else part
            node = node.get(part) if isinstance(node, Mapping) else None
            section = _concrete(_section_type(fields[part].annotation), node)
        elif index == len(location) - 1 and section is not None:
            text += f".{part}" if text else part  # a key the section does not have
            return text, section
    return text, section


def config_error(err: ValidationError, model: type[BaseModel], *, where: str = "", data: Any = None) -> ConfigError:
    """One :class:`ConfigError` for every problem pydantic found, one line per key (the alternatives of
    a union joined by "or")."""
    found: dict[str, list[str]] = {}
    for problem in err.errors(include_url=False):
        key, owner = _locate(model, data, tuple(problem["loc"]), where)
        if problem["type"] == "extra_forbidden":
            known = ", ".join(sorted(owner.model_fields)) if owner is not None else "?"
            parent = key.rsplit(".", 1)[0] if "." in key else ""
            found.setdefault(key, []).append(
                f"unknown config key {key}; known keys{' of ' + parent if parent else ''}: {known}")
            continue
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] != "value_error":
            message = f"{message[:1].lower()}{message[1:]}, got {problem.get('input')!r}"
        found.setdefault(key, []).append(message)
    lines = []
    for key, messages in found.items():
        if messages[0].startswith("unknown config key"):
            lines.append(messages[0])
        else:
            lines.append(f"{key}: {' or '.join(messages)}" if key else " or ".join(messages))
    return ConfigError("; ".join(lines))
