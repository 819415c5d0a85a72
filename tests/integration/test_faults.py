"""Faults the engine survives with nothing lost: a save killed half-way (SIGKILL), a
corrupted latest checkpoint, and a save that cannot be written (a file-size limit, the
way a full disk fails; root ignores read-only permissions, so that is not simulated)."""

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from gensys.train import loop
from gensys.train.checkpointing import Checkpointer
from tests.integration.test_engine import assert_trees_equal, params_of, toy_config
from tests.toy_recipe import make_toy_recipe

ROOT = Path(__file__).resolve().parents[2]


def run_script(body: str, data_cache, workdir) -> subprocess.CompletedProcess:
    """``body`` in a fresh Python process with a toy run's ``train(num_steps, **train)``."""
    script = textwrap.dedent(f"""
        import os, resource, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        import tests.conftest  # the suite's devices, generator and compilation cache
        from gensys.train import loop
        from gensys.train.checkpointing import Checkpointer
        from tests.integration.test_engine import toy_config
        from tests.toy_recipe import make_toy_recipe

        def train(num_steps, **train):
            config = toy_config({str(data_cache)!r}, num_steps=num_steps, **train)
            return loop.train(config, {str(workdir)!r}, make_toy_recipe())
    """) + textwrap.dedent(body)
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )


def corrupt_data_files(directory: Path) -> None:
    """Overwrites every array data file of the checkpoints under ``directory``."""
    for data_file in directory.rglob("*"):
        if data_file.is_file() and data_file.parent.name == "d":
            data_file.write_bytes(b"\x00garbage" * 7)


def test_sigkill_during_a_save_resumes_from_the_previous_checkpoint(tmp_path, data_cache):
    workdir = tmp_path / "run"
    done = run_script("""
        original = Checkpointer.save
        def save_then_die(self, step, state, meta, **options):
            # asynchronous: returns while the files are written
            original(self, step, state, meta, **options)
            if step == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        Checkpointer.save = save_then_die
        train(4)
    """, data_cache, workdir)  # fmt: skip
    assert done.returncode == -9, done.stderr[-2000:]
    leftovers = [p.name for p in (workdir / "checkpoints").iterdir()]
    assert "1" in leftovers and "2" not in leftovers, leftovers  # step 2 never committed
    assert any("tmp" in name for name in leftovers), leftovers  # ... and was half-written
    resumed = loop.train(toy_config(data_cache, num_steps=4), workdir, make_toy_recipe())
    straight = loop.train(toy_config(data_cache, num_steps=4), tmp_path / "b", make_toy_recipe())
    assert_trees_equal(params_of(straight), params_of(resumed))
    assert not any("tmp" in p.name for p in (workdir / "checkpoints").iterdir())


def test_corrupted_latest_checkpoint_warns_and_falls_back(tmp_path, data_cache, caplog):
    loop.train(toy_config(data_cache, num_steps=2), tmp_path / "run", make_toy_recipe())
    one_step = loop.train(toy_config(data_cache, num_steps=1), tmp_path / "one", make_toy_recipe())
    corrupt_data_files(tmp_path / "run" / "checkpoints" / "2")
    with caplog.at_level(logging.WARNING):
        step, state, _ = loop.load_latest(
            toy_config(data_cache), tmp_path / "run", make_toy_recipe()
        )
    assert step == 1
    assert "checkpoint 2" in caplog.text and "cannot be read" in caplog.text
    assert_trees_equal(jax.device_get(state.model), params_of(one_step))


def test_no_readable_checkpoint_is_an_error_not_a_fresh_start(tmp_path, data_cache):
    from gensys.train.checkpointing import CheckpointUnreadableError

    loop.train(toy_config(data_cache, num_steps=2), tmp_path, make_toy_recipe())
    corrupt_data_files(tmp_path / "checkpoints")
    with pytest.raises(CheckpointUnreadableError, match="step 2: .*\n.*step 1: "):
        loop.train(toy_config(data_cache, num_steps=4), tmp_path, make_toy_recipe())
    assert sorted(p.name for p in (tmp_path / "checkpoints").iterdir()) == ["1", "2"]


def test_a_save_that_cannot_be_written_fails_clearly_and_keeps_the_previous(tmp_path, data_cache):
    workdir = tmp_path / "run"
    done = run_script("""
        train(1)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))
        train(3)
    """, data_cache, workdir)  # fmt: skip
    assert done.returncode == 1
    assert "CheckpointWriteError: a checkpoint save failed in" in done.stderr
    assert "File too large" in done.stderr and "intact (steps [1])" in done.stderr
    step, state, _ = loop.load_latest(toy_config(data_cache), workdir, make_toy_recipe())
    assert step == 1 and np.isfinite(jax.tree.leaves(state.model)[0]).all()
    metrics = (workdir / "metrics.jsonl").read_text()
    assert '"step": 2' in metrics  # the metrics written before the failure were flushed


def flip_bytes(path: Path, count: int = 3) -> None:
    raw = bytearray(path.read_bytes())
    for i in range(count):
        raw[len(raw) // 2 + i] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_flipped_bytes_in_any_checkpoint_file_are_caught_and_fall_back(tmp_path, caplog):
    # Before, three flipped bytes in an array's data loaded without a word. Arrays large
    # enough to be stored outside OCDBT's checksummed b-tree nodes; each data file of the
    # latest checkpoint in turn: either its damage is found and the checkpoint before is
    # used, or the file is not read and the load is bit-identical. Never a changed array.
    def state_at(step):
        keys = jax.random.split(jax.random.key(step))
        return {
            "w": jax.random.normal(keys[0], (256, 256)),
            "b": jax.random.normal(keys[1], (4096,)),
        }

    checkpointer = Checkpointer(tmp_path / "checkpoints")
    for step in (1, 2):
        checkpointer.save(step, state_at(step), {"step": step})
    checkpointer.close()
    latest = tmp_path / "checkpoints" / "2"
    files = sorted(p for p in latest.rglob("*") if p.is_file() and p.parent.name == "d")
    outcomes = []
    for path in files:
        pristine = path.read_bytes()
        flip_bytes(path)
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            reader = Checkpointer(tmp_path / "checkpoints", read_only=True)
            step, state, _ = reader.restore_latest(state_at(0))
            reader.close()
        assert_trees_equal(state, state_at(step))
        if step == 2:
            outcomes.append("unread")
        elif "differ from what was saved" in caplog.text:
            outcomes.append("checksum")
        else:
            outcomes.append("unreadable")
        path.write_bytes(pristine)
    # Array bytes that still decode are what only the stored CRC-32s catch.
    assert "checksum" in outcomes, outcomes


def test_a_checkpoint_that_lost_its_metadata_falls_back(tmp_path, data_cache, caplog):
    # Before: "does not fit this model (51 mismatches)", and the intact one before untried.
    loop.train(toy_config(data_cache, num_steps=2), tmp_path / "run", make_toy_recipe())
    (tmp_path / "run" / "checkpoints" / "2" / "state" / "_METADATA").unlink()
    with caplog.at_level(logging.WARNING):
        step, _, _ = loop.load_latest(toy_config(data_cache), tmp_path / "run", make_toy_recipe())
    assert step == 1
    assert "checkpoint 2" in caplog.text and "lost its array metadata" in caplog.text
