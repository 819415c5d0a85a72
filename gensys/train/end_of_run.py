"""Which end-of-run steps (the sample grid, the recipe's figures, the final evaluation)
of a finished run are done, kept in ``<workdir>/end_of_run.json``.

They run after the final checkpoint, so one that fails (a full disk while writing the
grid, an evaluation that runs out of memory) used to be lost: starting the run again found
it trained and did nothing. Now the next start redoes exactly the missing ones.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from gensys.train.atomic_files import write_text_atomically

RECORD_NAME = "end_of_run.json"
STEPS = ("samples", "figures", "eval")


class EndOfRunRecord:
    """The done end-of-run steps of the run that finished at ``step`` (none when the
    record is of another step, or absent)."""

    def __init__(self, workdir: str | os.PathLike, step: int, *, writes: bool = True):
        self.path = Path(workdir) / RECORD_NAME
        self.step = step
        self.writes = writes  # only process 0 writes; every process reads
        self.done: list[str] = []
        if self.path.is_file():
            try:
                record = json.loads(self.path.read_text())
            except ValueError:
                record = {}  # a torn write: redo everything, which is safe
            if record.get("step") == step:
                self.done = [name for name in record.get("done", []) if name in STEPS]

    @property
    def complete(self) -> bool:
        return all(name in self.done for name in STEPS)

    def mark(self, name: str) -> None:
        if name in self.done:
            return
        self.done.append(name)
        if self.writes:
            record = json.dumps({"step": self.step, "done": self.done}) + "\n"
            write_text_atomically(self.path, record)
