"""Typed, frozen configuration built once at the boundary from a mapping.

The library never sees an ml_collections ``ConfigDict``: :func:`from_mapping` turns one
(or any mapping) into a frozen dataclass, refusing unknown fields with the list of known
ones, so a typo on the command line fails before any work is done. It sits at the bottom
of gensys (no gensys imports) because every layer's typed configs are built with it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def from_mapping(cls: type[T], values: Mapping[str, Any] | None, where: str = "config") -> T:
    """Builds dataclass ``cls`` from a (possibly nested) mapping such as a ConfigDict.

    Nested dataclass fields are built recursively; lists become tuples; a
    ``Mapping`` field is kept as a plain ``dict`` (the family builds its own
    typed config from it). Unknown keys raise ``ValueError``.
    """
    values = {} if values is None else _plain(values)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; known fields: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        field_type = hints[name]
        if dataclasses.is_dataclass(field_type):
            kwargs[name] = from_mapping(field_type, value, f"{where}.{name}")
        else:
            kwargs[name] = _coerce(value, field_type, f"{where}.{name}")
    return cls(**kwargs)


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


def _coerce(value: Any, field_type: Any, where: str) -> Any:
    """Light type checking for scalars: ints stay ints, an int may stand for a float."""
    origin = typing.get_origin(field_type)
    options = (
        typing.get_args(field_type) if origin in (typing.Union, types.UnionType) else (field_type,)
    )
    if value is None:
        if type(None) in options:
            return None
        raise ValueError(f"{where} must not be None")
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if option is str and isinstance(value, str):
            return value
        if option not in (bool, int, float, str, type(None)):
            return value  # containers and mappings are checked by their consumers
    raise ValueError(f"{where} must be of type {field_type}, got {value!r}")
