"""Every model family gensys trains, in one explicit mapping (no import-time registry)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from gensys.data.datasets import DatasetSpec
from gensys.diffusion.recipe import DDPMConfig, make_ddpm_recipe
from gensys.train.config import from_mapping
from gensys.train.recipe import Recipe


@dataclasses.dataclass(frozen=True)
class Family:
    """A family's typed model config and the factory that turns it into a recipe."""

    config_cls: type
    make_recipe: Callable[[Any, DatasetSpec], Recipe]


FAMILIES: dict[str, Family] = {
    "ddpm": Family(DDPMConfig, make_ddpm_recipe),
}


def build_recipe(family: str, model_config: Mapping[str, Any], spec: DatasetSpec) -> Recipe:
    """The recipe of ``family`` for data of ``spec``, its model section typed and checked."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; known families: {sorted(FAMILIES)}")
    entry = FAMILIES[family]
    return entry.make_recipe(from_mapping(entry.config_cls, model_config, "config.model"), spec)
