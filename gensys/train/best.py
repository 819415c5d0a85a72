"""The best evaluation so far, for keeping the best checkpoint and stopping early.

Model selection on a validation split (Prechelt 1998, "Early stopping - but when?"): after
each evaluation during training, the run compares ``metric`` (a name as written to
``metrics.jsonl``, e.g. ``eval/nll_nats``) with the best value seen; an improvement saves
the state as the run's ``best`` checkpoint, and ``patience`` evaluations in a row without
one end the run. The record travels in every checkpoint's JSON, so a resumed run keeps
comparing against the same best value.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

MODES = ("min", "max")


@dataclasses.dataclass
class BestEvaluation:
    """``metric``'s best value (``mode`` ``"min"`` or ``"max"``), its step, and the
    evaluations since it improved."""

    metric: str
    mode: str = "min"
    patience: int = 0  # 0: never stop early
    value: float = math.nan
    step: int = -1
    stale_evaluations: int = 0

    def __post_init__(self):
        if not self.metric.startswith("eval/"):
            raise ValueError(
                f"the best checkpoint is chosen by an evaluation metric named 'eval/<name>' "
                f"as in metrics.jsonl (e.g. 'eval/nll_nats'), got {self.metric!r}"
            )
        if self.mode not in MODES:
            raise ValueError(f"best_mode must be one of {MODES}, got {self.mode!r}")
        if self.patience < 0:
            raise ValueError(f"patience must be >= 0 evaluations, got {self.patience}")

    def update(self, step: int, metrics: dict[str, float]) -> bool:
        """Takes one evaluation; ``True`` when it is the best so far (its state should be kept).

        A non-finite value never improves (a diverged model is not the best one)."""
        if self.metric not in metrics:
            raise KeyError(
                f"best_metric {self.metric!r} is not among this recipe's evaluation metrics "
                f"{sorted(metrics)}"
            )
        value = float(metrics[self.metric])
        better = math.isfinite(value) and (
            self.step < 0 or (value < self.value if self.mode == "min" else value > self.value)
        )
        if better:
            self.value, self.step, self.stale_evaluations = value, step, 0
        else:
            self.stale_evaluations += 1
        return better

    @property
    def should_stop(self) -> bool:
        """``patience`` evaluations in a row have not improved on the best."""
        return self.patience > 0 and self.stale_evaluations >= self.patience

    def to_meta(self) -> dict[str, Any]:
        """The record for a checkpoint's JSON (NaN written as ``None``)."""
        return {
            "metric": self.metric,
            "mode": self.mode,
            "value": self.value if math.isfinite(self.value) else None,
            "step": self.step,
            "stale_evaluations": self.stale_evaluations,
        }

    def restore(self, meta: dict[str, Any] | None) -> None:
        """Continues from a checkpoint's record of the same metric and mode; a record of
        another metric (the config changed) starts the comparison afresh."""
        if not meta or meta.get("metric") != self.metric or meta.get("mode") != self.mode:
            return
        self.value = math.nan if meta["value"] is None else float(meta["value"])
        self.step = int(meta["step"])
        self.stale_evaluations = int(meta["stale_evaluations"])
