"""Every CIFAR-10 paper config (``experiments/configs/*_cifar10*.py``) at a tiny width and
batch, on files in CIFAR-10's exact binary format read through its TFDS builder: two
training steps on the engine and an evaluation, so that none of them rots; and the
accelerator check (``benchmarks/gpu_check.py``) end to end at its tiny sizes on the CPU."""

import math

import jax
import numpy as np
import pytest

from benchmarks import gpu_check
from gensys.data.batches import eval_batches, make_batch
from gensys.data.datasets import load_split
from gensys.recipes import recipe_for
from gensys.train import sharding
from gensys.train.engine import Engine
from tests.conftest import write_cifar10

LIKELIHOOD = ("ddpm", "autoregressive", "flow", "vae")


@pytest.fixture(scope="module")
def cifar_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("cifar10")
    write_cifar10(directory, per_batch=2, num_test=4)
    return directory


@pytest.mark.parametrize("name", gpu_check.CONFIGS)
def test_paper_config_trains_two_steps_and_evaluates(name, cifar_dir, data_cache):
    config = gpu_check.typed_config(
        name, str(cifar_dir), tiny=True, overrides={"data.cache_dir": str(data_cache)}
    )
    assert config.data.name == "cifar10_binary" and config.eval.split == "test"
    data = load_split(config.data.name, "train", data_dir=config.data.dir,
                      cache_dir=config.data.cache_dir)  # fmt: skip
    test = load_split(config.data.name, "test", data_dir=config.data.dir,
                      cache_dir=config.data.cache_dir)  # fmt: skip
    assert len(data) == 10 and data.images.shape[1:] == (32, 32, 3)
    recipe = recipe_for(config)
    engine = Engine(recipe, sharding.make_mesh())
    # 4 images a device, as benchmarks/gpu_check.py times the step: one compiled program.
    size = 4 * jax.device_count()
    batch = sharding.shard_batch(make_batch(data, np.arange(size), size, recipe.representation),
                                 engine.mesh)  # fmt: skip
    key = jax.random.key(0)
    state = engine.init(key, batch)
    for i in range(2):
        state, metrics = engine.train_step(state, batch, jax.random.fold_in(key, i))
    assert all(np.isfinite(float(v)) for v in metrics.values()), metrics
    scores = engine.evaluate(
        state, eval_batches(test, 4, representation=recipe.representation), key
    )
    assert scores and all(np.isfinite(v) for v in scores.values()), scores
    if config.family in LIKELIHOOD:
        # Bits per dimension of the 8-bit images: a barely trained model sits near the
        # uniform 8 bits, within a factor of 2 either way.
        assert 4.0 < scores["eval/bpd"] < 16.0, scores
        if "eval/nll_nats" in scores:
            dims = 32 * 32 * 3
            assert scores["eval/bpd"] == pytest.approx(
                scores["eval/nll_nats"] / (dims * math.log(2)), rel=1e-4
            )
