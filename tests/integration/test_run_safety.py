"""Runs that cannot corrupt each other or themselves: one owner a workdir, checkpoints
that are always good, a resume that refuses a changed model, end-of-run work redone."""

import dataclasses
import json
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from gensys.train import NonFiniteError, loop
from gensys.train.checkpointing import Checkpointer
from gensys.train.run_config import ConfigChangedError
from gensys.train.workdir_lock import WorkdirBusyError, WorkdirLock
from tests.integration.test_engine import assert_trees_equal, params_of, toy_config
from tests.toy_recipe import make_toy_recipe


def test_a_second_training_run_in_a_workdir_fails_naming_the_first(tmp_path, data_cache):
    workdir = tmp_path / "run"
    loop.train(toy_config(data_cache, num_steps=2), workdir, make_toy_recipe())
    owner = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         f"sys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
         "from gensys.train.workdir_lock import WorkdirLock\n"
         f"lock = WorkdirLock({str(workdir)!r})\nlock.acquire()\n"
         "print('held', flush=True)\n"
         "time.sleep(120)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert owner.stdout.readline().strip() == "held"
        owner_named = f"pid {owner.pid} on host {socket.gethostname()}"
        with pytest.raises(WorkdirBusyError, match=owner_named):
            loop.train(toy_config(data_cache, num_steps=4), workdir, make_toy_recipe())
        assert Checkpointer(workdir / "checkpoints", read_only=True).all_steps() == [1, 2]
        # eval and sample only read: they may run beside the owner.
        assert np.isfinite(
            loop.evaluate(toy_config(data_cache), workdir, make_toy_recipe())["eval/loss"]
        )
    finally:
        owner.kill()  # SIGKILL: the lock of a dead process is taken over
        owner.wait()
    assert loop.train(toy_config(data_cache, num_steps=4), workdir, make_toy_recipe()).step == 4
    with WorkdirLock(workdir):  # released when the run ended
        pass


def test_a_divergence_never_rotates_out_the_last_good_checkpoint(tmp_path, data_cache):
    # Updates from step 5 on are non-finite (skipped); saves every step, logs never, keep 2:
    # before, the budget was checked only at log steps and steps 19 and 20 were all that
    # was kept, both past the divergence, so the advised rerun failed again.
    config = toy_config(
        data_cache, num_steps=20, log_every=100, checkpoint_every=1, keep_checkpoints=2,
        nonfinite_budget=3,
    )  # fmt: skip
    workdir = tmp_path / "run"
    with pytest.raises(NonFiniteError, match="by step 9 .*resume_step=5") as error:
        loop.train(config, workdir, make_toy_recipe(poison_from_step=5))
    assert "the last checkpoint saved before any skipped step is 5" in str(error.value)
    steps = Checkpointer(workdir / "checkpoints", read_only=True).all_steps()
    assert steps == [5, 7, 8], steps  # 5 kept beside the newest two; 9 was never saved
    # Resuming from step 5 (the cause fixed) is exactly an uninterrupted healthy run.
    resume = dataclasses.replace(config, train=dataclasses.replace(config.train, resume_step=5))
    resumed = loop.train(resume, workdir, make_toy_recipe())
    straight = loop.train(config, tmp_path / "straight", make_toy_recipe())
    assert resumed.step == 20
    assert_trees_equal(params_of(straight), params_of(resumed))
    # The same command again continues that branch instead of going back to step 5.
    longer = dataclasses.replace(resume, train=dataclasses.replace(resume.train, num_steps=22))
    assert loop.train(longer, workdir, make_toy_recipe()).step == 22
    with pytest.raises(ValueError, match=r"train.resume_step=4: .* has no checkpoint 4"):
        bad = dataclasses.replace(config, train=dataclasses.replace(config.train, resume_step=4))
        loop.train(bad, workdir, make_toy_recipe())


def with_model(config, **model):
    return dataclasses.replace(config, model={**config.model, **model})


def test_a_changed_model_is_refused_on_resume_naming_each_field(tmp_path, data_cache):
    config = with_model(toy_config(data_cache, num_steps=2), activation="relu", hidden=[8, 8])
    loop.train(config, tmp_path, make_toy_recipe())
    stored = json.loads((tmp_path / "config.json").read_text())
    assert stored["model.activation"] == "relu" and stored["train.num_steps"] == 2
    changed = with_model(config, activation="gelu", hidden=[8, 8, 8])
    for attempt in (loop.train, loop.evaluate, loop.sample):
        with pytest.raises(ConfigChangedError) as error:
            attempt(changed, tmp_path, make_toy_recipe())
        assert "model.activation: 'relu' (stored) -> 'gelu' (now)" in str(error.value)
        assert "model.hidden: [8, 8] (stored) -> [8, 8, 8] (now)" in str(error.value)
    # The loop's length, evaluation and the learning rate may change.
    longer = dataclasses.replace(
        with_model(config, learning_rate=1e-4),
        train=dataclasses.replace(config.train, num_steps=3),
        eval=dataclasses.replace(config.eval, batch_size=4),
    )
    assert loop.train(longer, tmp_path, make_toy_recipe()).step == 3
    assert np.isfinite(loop.evaluate(longer, tmp_path, make_toy_recipe())["eval/loss"])


def test_end_of_run_work_that_failed_is_redone(tmp_path, data_cache, monkeypatch):
    from gensys.train import run as run_lib

    original = run_lib.Run.write_samples
    calls = []

    def failing_write_samples(self, state, step, path=None):
        calls.append(step)
        raise OSError("disk hiccup while writing the sample grid")

    monkeypatch.setattr(run_lib.Run, "write_samples", failing_write_samples)
    config = toy_config(data_cache, num_steps=2)
    with pytest.raises(OSError, match="disk hiccup"):
        loop.train(config, tmp_path, make_toy_recipe())
    monkeypatch.setattr(run_lib.Run, "write_samples", original)
    again = loop.train(config, tmp_path, make_toy_recipe())
    assert again.step == 2 and (tmp_path / "samples" / "step_0000002.png").is_file()
    record = json.loads((tmp_path / "end_of_run.json").read_text())
    assert record["step"] == 2 and sorted(record["done"]) == ["eval", "figures", "samples"]
    # Now complete: a third start does nothing (no second grid is written).
    (tmp_path / "samples" / "step_0000002.png").unlink()
    loop.train(config, tmp_path, make_toy_recipe())
    assert not (tmp_path / "samples" / "step_0000002.png").exists()


def test_state_checks_at_save(tmp_path, data_cache):
    # The guard keeps the state finite; the check before each save is the last line.
    from gensys.train.engine import Engine
    from gensys.train.sharding import make_mesh

    engine = Engine.for_recipe(make_toy_recipe(), make_mesh())
    result = loop.train(toy_config(data_cache, num_steps=1), tmp_path, make_toy_recipe())
    assert engine.is_finite(result.state)
    poisoned = jax.tree.map(lambda x: x * np.nan, result.state)
    assert not engine.is_finite(poisoned)


def test_networks_with_batch_statistics_never_train_on_padding(tmp_path, data_cache, monkeypatch):
    # Batch norm counted the padded blanks of each epoch's short last batch in its
    # statistics (the DCGAN discriminator's logits for the same real digits moved by up to
    # 0.52): recipes with batch statistics train on full batches only.
    from gensys.data import batches as batches_lib
    from gensys.data.datasets import get_spec
    from gensys.recipes.registry import build_recipe

    spec = get_spec("digits")
    assert build_recipe("gan", {"network": "dcgan"}, spec).full_batches
    assert not build_recipe("gan", {"network": "mlp"}, spec).full_batches
    assert build_recipe("pix2pix", {}, spec).full_batches
    masks = []
    original = batches_lib.BatchIterator.__next__

    def recording_next(self):
        batch = original(self)
        masks.append(batch["mask"].copy())
        return batch

    monkeypatch.setattr(batches_lib.BatchIterator, "__next__", recording_next)
    recipe = dataclasses.replace(make_toy_recipe(), full_batches=True)
    loop.train(toy_config(data_cache, num_steps=7), tmp_path, recipe)  # 20 examples, batch 8
    assert len(masks) == 7 and all(m.sum() == 8 for m in masks)
