"""The one loop, driven by a tiny recipe: tracing, resume, guards, signals, checkpoints."""

import dataclasses
import os
import signal

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.data import batches as batches_lib
from gensys.train import CheckpointMismatchError, NonFiniteError, loop
from gensys.train.checkpointing import Checkpointer
from gensys.train.config import DataConfig, EvalConfig, ExperimentConfig, TrainConfig
from gensys.train.engine import all_finite
from gensys.train.metric_writers import read_metrics
from tests.toy_recipe import make_toy_recipe


def toy_config(data_cache, **train):
    train_config = dict(
        num_steps=3, log_every=1, checkpoint_every=1, progress_bar=False, num_samples=4
    )
    train_config.update(train)
    return ExperimentConfig(
        family="toy",
        data=DataConfig(name="digits", split="train[:20]", cache_dir=str(data_cache), batch_size=8),
        train=TrainConfig(**train_config),
        eval=EvalConfig(split="test[:10]", batch_size=8),
    )


def params_of(result):
    return jax.device_get(result.state.model)


def assert_trees_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_step_traced_once_across_epochs_with_short_last_batch(tmp_path, data_cache, monkeypatch):
    engines = []
    original = loop.Engine.for_recipe

    def spy(recipe, mesh):
        engines.append(original(recipe, mesh))
        return engines[-1]

    monkeypatch.setattr(loop.Engine, "for_recipe", spy)
    # 20 examples in batches of 8: every third batch is short (4 real + 4 padding).
    result = loop.train(toy_config(data_cache, num_steps=7), tmp_path, make_toy_recipe())
    assert result.step == 7
    assert engines[0].trace_count == 1
    metrics = read_metrics(tmp_path)
    assert [m["step"] for m in metrics if "train/loss" in m] == list(range(1, 8))
    assert any("eval/loss" in m for m in metrics)
    assert (tmp_path / "samples" / "step_0000007.png").exists()
    assert list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))


def test_resume_is_bit_identical_and_data_continues(tmp_path, data_cache):
    straight = loop.train(toy_config(data_cache, num_steps=5), tmp_path / "a", make_toy_recipe())
    loop.train(toy_config(data_cache, num_steps=2), tmp_path / "b", make_toy_recipe())
    resumed = loop.train(toy_config(data_cache, num_steps=5), tmp_path / "b", make_toy_recipe())
    assert resumed.step == 5
    assert_trees_equal(params_of(straight), params_of(resumed))
    ckpt = Checkpointer(tmp_path / "b" / "checkpoints")
    _, _, meta = ckpt.restore_latest(resumed.state)
    ckpt.close()
    assert meta["data"] == {"epoch": 1, "position": 2, "seed": 0}  # 5 batches, 3 per epoch


def test_time_budget_stops_saves_evaluates_and_resumes(tmp_path, data_cache):
    # A budget spent by the first step: stop there, save, sample and evaluate.
    config = toy_config(data_cache, num_steps=5, max_seconds=1e-6)
    first = loop.train(config, tmp_path, make_toy_recipe())
    assert first.step == 1
    assert "eval/loss" in first.last_metrics
    assert (tmp_path / "samples" / "step_0000001.png").exists()
    # Without the budget the same directory resumes to the configured steps, exactly.
    resumed = loop.train(toy_config(data_cache, num_steps=5), tmp_path, make_toy_recipe())
    straight = loop.train(toy_config(data_cache, num_steps=5), tmp_path / "a", make_toy_recipe())
    assert resumed.step == 5
    assert_trees_equal(params_of(straight), params_of(resumed))


def test_resume_with_reset_optimizer_is_not_identical(tmp_path, data_cache):
    # Negative control for the test above: a checkpoint that lost its optimizer
    # state (and nothing else) must not resume to the same parameters.
    straight = loop.train(toy_config(data_cache, num_steps=4), tmp_path / "a", make_toy_recipe())
    part = loop.train(toy_config(data_cache, num_steps=2), tmp_path / "b", make_toy_recipe())
    source = Checkpointer(tmp_path / "b" / "checkpoints")
    _, state, meta = source.restore_latest(part.state)
    source.close()
    fresh_opt = make_toy_recipe().init(jax.random.key(0), None).opt_state
    tampered = dataclasses.replace(
        state, model=dataclasses.replace(state.model, opt_state=fresh_opt)
    )
    target = Checkpointer(tmp_path / "c" / "checkpoints")
    target.save(2, tampered, meta)
    target.close()
    resumed = loop.train(toy_config(data_cache, num_steps=4), tmp_path / "c", make_toy_recipe())
    with pytest.raises(AssertionError):
        assert_trees_equal(params_of(straight), params_of(resumed))


def test_nonfinite_steps_are_skipped_then_stop(tmp_path, data_cache):
    recipe = make_toy_recipe(poison_from_step=2)
    config = toy_config(data_cache, num_steps=10, nonfinite_budget=3)
    with pytest.raises(
        NonFiniteError, match=r"4 training steps produced non-finite values by step 6 \(budget 3\)"
    ):
        loop.train(config, tmp_path, recipe)
    records = [m for m in read_metrics(tmp_path) if "train/nonfinite_skipped" in m]
    assert [m["train/nonfinite_skipped"] for m in records] == [0, 0, 1, 2, 3, 4]
    assert records[-1]["train/loss"] == "nan"


def test_nonfinite_guard_keeps_last_finite_state(tmp_path, data_cache):
    recipe = make_toy_recipe(poison_from_step=2)
    result = loop.train(toy_config(data_cache, num_steps=5, nonfinite_budget=10), tmp_path, recipe)
    assert int(result.state.nonfinite_skipped) == 3
    assert int(result.state.model.step) == 2  # updates 3..5 were skipped
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(params_of(result)))


def test_sigterm_saves_and_resumes_exactly(tmp_path, data_cache, monkeypatch):
    calls = {"n": 0}
    original_next = batches_lib.BatchIterator.__next__

    def next_then_signal(self):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return original_next(self)

    monkeypatch.setattr(batches_lib.BatchIterator, "__next__", next_then_signal)
    interrupted = loop.train(
        toy_config(data_cache, num_steps=6, checkpoint_every=100), tmp_path / "b", make_toy_recipe()
    )
    assert interrupted.interrupted and interrupted.step == 3
    monkeypatch.setattr(batches_lib.BatchIterator, "__next__", original_next)
    resumed = loop.train(toy_config(data_cache, num_steps=6), tmp_path / "b", make_toy_recipe())
    straight = loop.train(toy_config(data_cache, num_steps=6), tmp_path / "a", make_toy_recipe())
    assert_trees_equal(params_of(straight), params_of(resumed))


def test_checkpoint_shape_mismatch_lists_each_array(tmp_path, data_cache):
    loop.train(toy_config(data_cache, num_steps=1), tmp_path, make_toy_recipe())
    bigger = make_toy_recipe(image_shape=(8, 8, 2))
    with pytest.raises(CheckpointMismatchError) as err:
        loop.evaluate(toy_config(data_cache), tmp_path, bigger)
    text = str(err.value)
    assert "params/scale: checkpoint shape (8, 8, 1), model shape (8, 8, 2)" in text
    assert "params/shift" in text and "ema_params/scale" in text


def test_eval_and_sample_modes(tmp_path, data_cache):
    loop.train(toy_config(data_cache, num_steps=2), tmp_path, make_toy_recipe())
    metrics = loop.evaluate(toy_config(data_cache), tmp_path, make_toy_recipe())
    assert set(metrics) == {"eval/loss"} and np.isfinite(metrics["eval/loss"])
    path = loop.sample(toy_config(data_cache), tmp_path, recipe=make_toy_recipe())
    assert path.exists() and path.name == "sample_0000002.png"
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        loop.evaluate(toy_config(data_cache), tmp_path / "empty", make_toy_recipe())


def test_batch_size_must_split_over_devices(tmp_path, data_cache):
    config = toy_config(data_cache)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, batch_size=7))
    with pytest.raises(
        ValueError,
        match=r"data.batch_size must be a multiple of the number of devices \(2\), got 7",
    ):
        loop.train(config, tmp_path, make_toy_recipe())


@pytest.mark.parametrize("concatenated", [False, True])
def test_finiteness_check_sees_every_floating_leaf(concatenated):
    check = jax.jit(lambda tree: all_finite(tree, concatenated=concatenated))
    tree = {"w": jnp.ones((3, 2)), "b": jnp.zeros(4, jnp.bfloat16), "n": jnp.arange(3),
            "scalar": jnp.float32(2.0)}  # fmt: skip
    assert bool(check(tree))
    assert bool(check({"only_integers": jnp.arange(3)}))
    for name, bad in [("w", jnp.nan), ("b", jnp.inf), ("scalar", -jnp.inf)]:
        poisoned = {**tree, name: tree[name].at[..., 0].set(bad) if tree[name].ndim else bad}
        assert not bool(check(poisoned)), name
