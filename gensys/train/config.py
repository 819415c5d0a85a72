"""Typed, frozen configuration built once at the boundary from an ml_collections config.

The library never sees a ``ConfigDict``: :func:`gensys.typed_config.from_mapping` turns
one into these dataclasses. The experiment configs' defaults are derived from them
(``experiments/configs/base.py``), so there is one source of defaults.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any


def _check_at_least(section: str, config: Any, minimum: int, *names: str) -> None:
    """One-line errors naming the field, e.g. ``train.log_every must be >= 1, got 0``."""
    for name in names:
        value = getattr(config, name)
        if value < minimum:
            raise ValueError(f"{section}.{name} must be >= {minimum}, got {value}")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Which data, where it lives, and how it is batched."""

    name: str = "digits"
    split: str = "train"
    dir: str | None = None  # local files (binarized_mnist, mnist_idx) or a TFDS data dir
    cache_dir: str | None = None  # where gensys prepares its own builders
    download: bool = False  # allow fetching an unprepared catalogue dataset
    batch_size: int = 128
    random_flip: bool = False  # mirror training images left to right with probability 1/2

    def __post_init__(self):
        _check_at_least("data", self, 1, "batch_size")


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
    # An eval metric ("eval/nll_nats"): each evaluation that improves it saves the state as
    # the run's best checkpoint (workdir/best); "" keeps no best checkpoint.
    best_metric: str = ""
    best_mode: str = "min"  # "min" or "max": which way best_metric improves
    # > 0: stop after this many evaluations in a row without improving best_metric.
    patience: int = 0
    # > 0: resume from this checkpoint step instead of the latest, deleting the checkpoints
    # after it (e.g. the last one before a divergence, which the NonFiniteError names).
    resume_step: int = 0

    def __post_init__(self):
        _check_at_least(
            "train", self, 1, "num_steps", "log_every", "checkpoint_every", "keep_checkpoints",
            "num_samples",
        )  # fmt: skip
        _check_at_least(
            "train", self, 0, "sample_every", "eval_every", "nonfinite_budget", "max_seconds",
            "patience", "resume_step",
        )  # fmt: skip
        if self.patience and not (self.best_metric and self.eval_every):
            raise ValueError(
                f"train.patience={self.patience} stops on evaluations of train.best_metric: "
                f"set train.best_metric (got {self.best_metric!r}) and train.eval_every "
                f"(got {self.eval_every})"
            )
        if self.best_mode not in ("min", "max"):
            raise ValueError(f"train.best_mode must be 'min' or 'max', got {self.best_mode!r}")


@dataclasses.dataclass(frozen=True)
class EvalConfig:
    """Evaluation split and batching."""

    split: str = "test"
    batch_size: int = 256
    max_examples: int | None = None
    # Which checkpoint --mode=eval and --mode=sample read: "latest", or "best" (kept when
    # train.best_metric is set).
    checkpoint: str = "latest"

    def __post_init__(self):
        _check_at_least("eval", self, 1, "batch_size")
        if self.max_examples is not None:
            _check_at_least("eval", self, 1, "max_examples")
        if self.checkpoint not in ("latest", "best"):
            raise ValueError(f"eval.checkpoint must be 'latest' or 'best', got {self.checkpoint!r}")


@dataclasses.dataclass(frozen=True)
class ExperimentConfig:
    """A whole run: the family, its model and sampler sections, data, loop and evaluation."""

    family: str = "ddpm"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    eval: EvalConfig = dataclasses.field(default_factory=EvalConfig)
    model: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    sampler: Mapping[str, Any] = dataclasses.field(default_factory=dict)
