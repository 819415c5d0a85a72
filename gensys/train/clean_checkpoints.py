"""Which checkpoint is the last good one when training diverges.

The engine skips an update that produces NaN or inf and counts it; past
``train.nonfinite_budget`` skipped steps the run stops. A checkpoint saved after a skipped
step holds a state that may be diverging, so the record kept here marks as *clean* each
checkpoint saved with no step skipped since the one before. The newest clean one is never
rotated out of the checkpoint directory, and the error that stops the run names it for
``train.resume_step``. The record travels in every checkpoint's JSON, so a resumed run
continues it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class NonFiniteError(RuntimeError):
    """Too many training steps produced NaN or infinite values."""


class CleanCheckpoints:
    """The skipped count at the last save and the newest clean checkpoint's step."""

    def __init__(self, budget: int, directory: Path):
        self.budget = budget
        self.directory = directory
        self.skipped_at_save = 0
        self.last_clean: int | None = None

    def restore(self, meta: dict[str, Any], step: int, skipped: int) -> None:
        """Continues the record of the checkpoint ``meta`` at ``step`` (one written before
        the record existed counts as clean)."""
        self.skipped_at_save = meta.get("nonfinite_skipped", skipped)
        self.last_clean = meta.get("last_clean_step", step)

    def over_budget(self, skipped: int) -> bool:
        return skipped > self.budget

    def saving(self, step: int, skipped: int) -> dict[str, Any]:
        """Records a save at ``step`` with ``skipped`` steps skipped so far; returns the
        fields for its JSON record."""
        if skipped == self.skipped_at_save:
            self.last_clean = step
        self.skipped_at_save = skipped
        return {"nonfinite_skipped": skipped, "last_clean_step": self.last_clean}

    def error(self, skipped: int, step: int) -> NonFiniteError:
        """The error that stops the run, naming the checkpoint to resume from."""
        where = (
            f"the last checkpoint saved before any skipped step is {self.last_clean} in "
            f"{self.directory}: lower the learning rate and resume from it with "
            f"--config.train.resume_step={self.last_clean}"
            if self.last_clean is not None
            else "no checkpoint was saved before the first skipped step: start afresh with "
            "a lower learning rate"
        )
        return NonFiniteError(
            f"{skipped} training steps produced non-finite values by step {step} (budget "
            f"{self.budget}); the state was kept at the last finite step; {where}. "
            "Check the data too."
        )
