"""The resolved config a workdir was trained with, and the check that a resume uses it.

Resuming a checkpoint under a changed model (another activation, another VAE decoder)
restores the old weights into the new network whenever the shapes agree, and the run goes
on silently wrong. So training writes its whole resolved config to
``<workdir>/config.json``, and every later train, eval or sample in that workdir compares
its own config with it: a difference in any field outside :data:`MAY_CHANGE` is a
:class:`ConfigChangedError` listing each changed field. The fields that may change are
those of the loop's length and bookkeeping, evaluation, sampling, the data's location and
the optimizer's step sizes: none changes the model or its objective.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gensys.train.atomic_files import write_text_atomically
from gensys.train.config import ExperimentConfig

CONFIG_NAME = "config.json"

# Dotted fields that may differ between the runs of one workdir; "section.*" is a whole
# section. A "model.<name>" entry applies to every family's model section.
MAY_CHANGE = frozenset({
    # the loop's length and bookkeeping
    "train.num_steps", "train.log_every", "train.checkpoint_every", "train.keep_checkpoints",
    "train.sample_every", "train.num_samples", "train.eval_every", "train.nonfinite_budget",
    "train.progress_bar", "train.max_seconds", "train.patience", "train.resume_step",
    # where the data lives, not what it is
    "data.dir", "data.cache_dir", "data.download",
    # evaluation and sampling
    "eval.*", "sampler.*", "model.iwae_samples", "model.iwae_chunk", "model.cached_sampling",
    "model.eval_bpd", "model.eval_ode_steps", "model.eval_ode_divergence",
    # the optimizer's step sizes (lowering them is how a diverged run is resumed)
    "model.learning_rate", "model.g_learning_rate", "model.d_learning_rate",
    "model.encoder_learning_rate", "model.warmup_steps", "model.decay_steps",
    "model.grad_clip_norm",
})  # fmt: skip


class ConfigChangedError(ValueError):
    """The config differs from the workdir's stored one in a field that may not change."""


def flatten(config: ExperimentConfig) -> dict[str, Any]:
    """``{"model.hidden": [256, 256], ...}``, values as JSON stores them."""
    tree = json.loads(json.dumps(dataclasses.asdict(config), default=_jsonable))
    flat: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        if isinstance(node, Mapping) and node:
            for name, value in node.items():
                walk(value, f"{prefix}.{name}" if prefix else name)
        else:
            flat[prefix] = node

    walk(tree, "")
    return flat


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return repr(value)


def may_change(field: str) -> bool:
    section, _, name = field.partition(".")
    return field in MAY_CHANGE or f"{section}.*" in MAY_CHANGE


def stored_config(workdir: str | os.PathLike) -> dict[str, Any] | None:
    """The flattened config stored in ``workdir``, or ``None`` when it has none."""
    path = Path(workdir) / CONFIG_NAME
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def family_defaults(family: str) -> dict[str, Any]:
    """``{"model.<field>": default, "sampler.<field>": default}`` of ``family``'s typed
    sections, as :func:`flatten` stores values (empty for an unknown family)."""
    from gensys.recipes.registry import FAMILIES  # the engine sits above the recipes

    entry = FAMILIES.get(family)
    if entry is None:
        return {}
    sections = {"model": entry.config_cls()}
    if entry.sampler_cls is not None:
        sections["sampler"] = entry.sampler_cls()
    tree = json.loads(json.dumps(
        {k: dataclasses.asdict(v) for k, v in sections.items()}, default=_jsonable))  # fmt: skip
    return {f"{section}.{name}": value for section, fields in tree.items()
            for name, value in fields.items()}  # fmt: skip


def check_unchanged(workdir: str | os.PathLike, config: ExperimentConfig) -> None:
    """Raises :class:`ConfigChangedError` when ``config`` differs from the one stored in
    ``workdir`` in a field outside :data:`MAY_CHANGE`; nothing stored: nothing to check."""
    stored = stored_config(workdir)
    if stored is None:
        return
    now = flatten(config)
    # A field the stored config lacks (one added to gensys since that run) is unchanged
    # while it keeps its default: the run was trained with the behaviour the default gives.
    defaults = {k: v for k, v in family_defaults(config.family).items() if k not in stored}
    effective = {**defaults, **stored}
    changed = sorted(
        name
        for name in set(effective) | set(now)
        if effective.get(name, _MISSING) != now.get(name, _MISSING) and not may_change(name)
    )
    if changed:

        def was(name):
            if name in defaults:
                return f"<absent, so its default {defaults[name]!r}> (stored)"
            return f"{stored.get(name, _MISSING)!r} (stored)"

        lines = [f"  {name}: {was(name)} -> {now.get(name, _MISSING)!r} (now)" for name in changed]
        raise ConfigChangedError(
            f"{workdir} was trained with another config; {len(changed)} field(s) that change "
            f"the model or its objective differ from {Path(workdir) / CONFIG_NAME}:\n"
            + "\n".join(lines)
            + "\nset them back, or train in another --workdir (fields that may change "
            "across resumes: gensys.train.run_config.MAY_CHANGE)"
        )


def write_config(workdir: str | os.PathLike, config: ExperimentConfig) -> None:
    """Stores ``config`` (flattened) in ``workdir``, atomically."""
    path = Path(workdir) / CONFIG_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(flatten(config), indent=1, sort_keys=True) + "\n")


class _Missing:
    def __repr__(self) -> str:
        return "<absent>"


_MISSING = _Missing()
