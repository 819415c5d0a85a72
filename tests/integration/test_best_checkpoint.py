"""The engine keeps the best checkpoint by an eval metric and stops early on it."""

from __future__ import annotations

import dataclasses
import json

import jax.numpy as jnp
import numpy as np
import pytest

from gensys.recipes.recipe import Recipe
from gensys.train import loop
from gensys.train.best import BestEvaluation
from gensys.train.config import TrainConfig
from tests.integration.test_engine import toy_config
from tests.toy_recipe import make_toy_recipe

BEST_STEP = 3


def make_valley_recipe() -> Recipe:
    """The toy recipe with one more eval metric, ``(step - 3)^2``: best after step 3."""
    toy = make_toy_recipe()

    def eval_step(state, batch, key):
        out = toy.eval_step(state, batch, key)
        distance = jnp.square(state.step.astype(jnp.float32) - BEST_STEP)
        return {**out, "valley": jnp.full(out["loss"].shape, distance)}

    return dataclasses.replace(toy, eval_step=eval_step)


def valley_config(data_cache, **train):
    settings = dict(eval_every=1, best_metric="eval/valley", checkpoint_every=100)
    return toy_config(data_cache, **{**settings, **train})


def test_best_checkpoint_is_kept_and_patience_stops(tmp_path, data_cache):
    result = loop.train(
        valley_config(data_cache, num_steps=10, patience=2), tmp_path, make_valley_recipe()
    )
    # Evaluations 4, 1, 0, 1, 4: best at step 3, two in a row without improvement by step 5.
    assert result.step == BEST_STEP + 2
    assert result.last_metrics["best/step"] == BEST_STEP
    assert result.last_metrics["best/eval/valley"] == 0.0
    step, state, _ = loop.load_best(valley_config(data_cache), tmp_path, make_valley_recipe())
    assert step == BEST_STEP and int(state.model.step) == BEST_STEP
    latest, _, _ = loop.load_latest(valley_config(data_cache), tmp_path, make_valley_recipe())
    assert latest == BEST_STEP + 2
    # The run ended early: training it again does nothing.
    again = loop.train(
        valley_config(data_cache, num_steps=10, patience=2), tmp_path, make_valley_recipe()
    )
    assert again.step == BEST_STEP + 2
    config = valley_config(data_cache)
    config = dataclasses.replace(config, eval=dataclasses.replace(config.eval, checkpoint="best"))
    metrics = loop.evaluate(config, tmp_path, make_valley_recipe())
    assert metrics["eval/valley"] == 0.0


def test_resumed_run_keeps_comparing_with_the_same_best(tmp_path, data_cache):
    loop.train(valley_config(data_cache, num_steps=4, patience=2), tmp_path, make_valley_recipe())
    # Step 4 was one evaluation without improvement; step 5 is the second, so it stops.
    # Had the record been lost, step 5 (value 4) would be a fresh "best" and training go on.
    resumed = loop.train(
        valley_config(data_cache, num_steps=10, patience=2), tmp_path, make_valley_recipe()
    )
    assert resumed.step == BEST_STEP + 2
    assert resumed.last_metrics["best/step"] == BEST_STEP
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["best/step"] for r in records if "best/step" in r] == [1, 2, 3, 3, 3]


def test_maximised_metric_and_nan_never_best():
    best = BestEvaluation("eval/accuracy", mode="max")
    assert best.update(1, {"eval/accuracy": 0.5})
    assert not best.update(2, {"eval/accuracy": float("nan")})
    assert best.update(3, {"eval/accuracy": 0.7})
    assert not best.update(4, {"eval/accuracy": 0.6})
    assert (best.step, best.value, best.stale_evaluations) == (3, 0.7, 1)
    restored = BestEvaluation("eval/accuracy", mode="max")
    restored.restore(best.to_meta())
    assert restored == best
    other = BestEvaluation("eval/loss")
    other.restore(best.to_meta())  # another metric's record is not continued
    assert other.step == -1 and np.isnan(other.value)


def test_bad_best_settings_are_named(tmp_path, data_cache):
    with pytest.raises(ValueError, match="'eval/<name>'"):
        BestEvaluation("nll_nats")
    with pytest.raises(ValueError, match="best_mode must be one of"):
        BestEvaluation("eval/nll_nats", mode="lowest")
    with pytest.raises(ValueError, match="train.patience=3 stops on evaluations"):
        TrainConfig(patience=3, best_metric="eval/loss")
    with pytest.raises(KeyError, match=r"'eval/nll' is not among .*\['eval/loss'\]"):
        loop.train(
            toy_config(data_cache, num_steps=1, eval_every=1, best_metric="eval/nll"),
            tmp_path,
            make_toy_recipe(),
        )
    config = toy_config(data_cache, num_steps=1)
    loop.train(config, tmp_path / "plain", make_toy_recipe())
    config = dataclasses.replace(config, eval=dataclasses.replace(config.eval, checkpoint="best"))
    with pytest.raises(FileNotFoundError, match="train with train.best_metric set"):
        loop.evaluate(config, tmp_path / "plain", make_toy_recipe())
