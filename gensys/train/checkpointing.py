"""Checkpoints with Orbax: the train state plus a small JSON record (data position, counters).

- Saves are asynchronous and atomic (Orbax writes a temporary directory and
  renames it); leftover temporary directories of a killed save are removed.
- The latest ``max_to_keep`` checkpoints are kept.
- Restoring checks every array's stored shape and dtype against the model
  first and raises one ``ValueError`` listing each mismatch.
- A checkpoint that cannot be read is skipped with a warning, falling back
  to the one before.
- A save that cannot be written (read-only or full disk, a file-size limit) raises
  :class:`CheckpointWriteError` naming the directory and the intact checkpoints
  before it; its temporary directory is never read and is removed on the next start.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
from absl import logging


class CheckpointMismatchError(ValueError):
    """The checkpoint's arrays do not fit the model being restored into."""


class CheckpointUnreadableError(RuntimeError):
    """Checkpoints exist but none can be restored (corrupt, or another model's)."""


class CheckpointWriteError(OSError):
    """A checkpoint could not be written; the ones before it are intact."""


class Checkpointer:
    """A thin wrapper over ``ocp.CheckpointManager`` with items ``state`` and ``meta``."""

    def __init__(
        self, directory: str | os.PathLike, *, max_to_keep: int = 3, async_save: bool = True
    ):
        self.directory = Path(directory).absolute()
        options = ocp.CheckpointManagerOptions(
            max_to_keep=max_to_keep,
            enable_async_checkpointing=async_save,
            cleanup_tmp_directories=True,
            create=True,
        )
        # Handlers named up front: a fresh manager otherwise knows no handler for
        # "state" before its first save or restore, and its metadata reads empty.
        self._manager = ocp.CheckpointManager(
            self.directory,
            options=options,
            item_handlers={
                "state": ocp.StandardCheckpointHandler(),
                "meta": ocp.JsonCheckpointHandler(),
            },
        )

    def all_steps(self) -> list[int]:
        return sorted(self._manager.all_steps())

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
        """Starts saving ``state`` and ``meta`` as checkpoint ``step``; returns before the write."""
        if step in self._manager.all_steps():
            return
        try:
            self._manager.save(
                step,
                args=ocp.args.Composite(
                    state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)
                ),
                force=True,
            )
        except Exception as err:  # noqa: BLE001 - TensorStore reports OS errors as ValueError
            raise self._write_error(step, err) from err

    def _write_error(self, step: int | None, err: Exception) -> CheckpointWriteError:
        intact = [s for s in self.all_steps() if s != step]
        return CheckpointWriteError(
            f"a checkpoint save failed in {self.directory} (at step {step}; "
            f"{type(err).__name__}: {err}); the checkpoints before it are intact "
            f"(steps {intact or 'none'}): make room or make the directory writable, and "
            "run again to resume from the latest of them"
        )

    def restore(self, step: int, template: Any) -> tuple[Any, dict[str, Any]]:
        """Restores checkpoint ``step`` into the shapes, dtypes and shardings of ``template``."""
        stored = self._manager.item_metadata(step)["state"]
        check_compatible(_leaf_specs(stored), _leaf_specs(template), self.directory / str(step))
        abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, template)
        restored = self._manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(abstract), meta=ocp.args.JsonRestore()
            ),
        )
        return restored["state"], dict(restored["meta"])

    def restore_latest(self, template: Any) -> tuple[int, Any, dict[str, Any]] | None:
        """The newest readable checkpoint as ``(step, state, meta)``, or ``None`` if there is none.

        A checkpoint that fails to read is skipped with a warning; a shape
        mismatch is not a corruption and is raised. When checkpoints exist but none
        can be read, :class:`CheckpointUnreadableError` is raised rather than starting
        afresh, which would let the new run's saves replace them.
        """
        failures = []
        for step in reversed(self.all_steps()):
            try:
                state, meta = self.restore(step, template)
            except CheckpointMismatchError:
                raise
            except Exception as err:  # noqa: BLE001 - any unreadable checkpoint falls back
                logging.warning(
                    "checkpoint %d in %s cannot be read (%s: %s); trying the one before",
                    step,
                    self.directory,
                    type(err).__name__,
                    err,
                )
                failures.append(f"  step {step}: {type(err).__name__}: {str(err)[:300]}")
                continue
            return step, state, meta
        if failures:
            raise CheckpointUnreadableError(
                f"no checkpoint in {self.directory} can be read into this model; move the "
                "directory away to start afresh (nothing was overwritten):\n" + "\n".join(failures)
            )
        return None

    def wait(self) -> None:
        """Blocks until pending asynchronous saves are on disk."""
        try:
            self._manager.wait_until_finished()
        except Exception as err:  # noqa: BLE001 - an asynchronous write failed
            raise self._write_error(self._manager.latest_step(), err) from err

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self._manager.close()


def _key_name(entry: Any) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def _leaf_specs(tree: Any) -> dict[str, tuple[tuple[int, ...], str | None]]:
    """``{"a/b/0": (shape, dtype)}`` for every array leaf; containers named alike however stored."""
    tree = getattr(tree, "tree", tree)
    leaves, _ = jax.tree_util.tree_flatten_with_path(
        tree, is_leaf=lambda x: hasattr(x, "shape") and not isinstance(x, dict | list | tuple)
    )
    specs = {}
    for path, leaf in leaves:
        if not hasattr(leaf, "shape"):
            continue
        dtype = getattr(leaf, "dtype", None)
        specs["/".join(_key_name(p) for p in path)] = (
            tuple(leaf.shape),
            None if dtype is None else str(np.dtype(dtype)),
        )
    return specs


def check_compatible(stored: dict, model: dict, where: Any) -> None:
    """Raises :class:`CheckpointMismatchError` listing each array that differs."""
    problems = []
    for name in sorted(set(stored) | set(model)):
        if name not in stored:
            problems.append(f"  {name}: in the model {model[name][0]}, missing from the checkpoint")
        elif name not in model:
            problems.append(
                f"  {name}: in the checkpoint {stored[name][0]}, missing from the model"
            )
        else:
            (s_shape, s_dtype), (m_shape, m_dtype) = stored[name], model[name]
            if s_shape != m_shape:
                problems.append(f"  {name}: checkpoint shape {s_shape}, model shape {m_shape}")
            elif s_dtype and m_dtype and s_dtype != m_dtype:
                problems.append(f"  {name}: checkpoint dtype {s_dtype}, model dtype {m_dtype}")
    if problems:
        raise CheckpointMismatchError(
            f"checkpoint {where} does not fit this model ({len(problems)} mismatches):\n"
            + "\n".join(problems)
        )
