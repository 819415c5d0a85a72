"""Typed, frozen configuration built once at the boundary from an ml_collections config.

The library never sees a ``ConfigDict``: :func:`from_mapping` turns one (or any
mapping) into these dataclasses, refusing unknown fields with the list of
known ones, so a typo on the command line fails before any work is done.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which data, where it lives, and how it is batched."""

    name: str = "digits"
    split: str = "train"
    dir: str | None = None  # local files (binarized_mnist, mnist_idx) or a TFDS data dir
    cache_dir: str | None = None  # where gensys prepares its own builders
    download: bool = False  # allow fetching an unprepared catalogue dataset
    batch_size: int = 128


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """The loop: length, seeds, and how often it logs, saves, samples and evaluates."""

    num_steps: int = 1000
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 500
    keep_checkpoints: int = 3
    sample_every: int = 0  # 0: only at the end
    num_samples: int = 64
    eval_every: int = 0  # 0: only at the end
    nonfinite_budget: int = 20  # skipped non-finite steps allowed before the run stops
    progress_bar: bool = True
    # > 0: also stop once this many seconds of training have passed in this invocation
    # (then save, sample and evaluate as at the last step); one process only.
    max_seconds: float = 0.0


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Evaluation split and batching."""

    split: str = "test"
    batch_size: int = 256
    max_examples: int | None = None


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """A whole run: the family, its model and sampler sections, data, loop and evaluation."""

    family: str = "ddpm"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    model: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    sampler: Mapping[str, Any] = dataclasses.field(default_factory=dict)


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
