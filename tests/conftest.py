"""Test-wide JAX set-up: two CPU devices (so sharding is exercised), the persistent
compilation cache (shared compiled shapes across tests and runs), the fast-compiling
"rbg" random-number generator, strict promotion-free checks elsewhere, and a private
data cache."""

from __future__ import annotations

import os
from pathlib import Path

import jax
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

jax.config.update("jax_num_cpu_devices", 2)
# The "rbg" generator compiles about 3x faster than the default threefry on XLA:CPU
# (a tiny DCGAN's init: 13.4 s vs 4.7 s); the suite is compile-bound, so tests use it.
# Every test draws its own keys, so nothing depends on which generator is behind them.
jax.config.update("jax_default_prng_impl", "rbg")

from gensys.train import runtime  # noqa: E402

runtime.enable_compilation_cache(
    os.environ.get("GENSYS_TEST_COMPILATION_CACHE", REPO / ".cache" / "jax_tests")
)
runtime.tune_cpu_compiler()
# Tests run tiny models for a few steps, so compiling is most of their time: XLA:CPU's
# backend is told to spend less on optimising the code it emits (the HLO passes, and so
# the numerics of fusion, are unchanged), and to emit its fusions with the older IR
# emitters, which compile faster than the MLIR fusion emitters (a tiny DDPM training
# step: 3.9 s against 5.5 s, `python -m benchmarks.compile_time`). The suite's wall time
# on 2 cores: docs/testing.md.
if "--xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "")
        + " --xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
        + " --xla_cpu_use_fusion_emitters=false"
    ).strip()
runtime.quiet_library_logs()


@pytest.fixture(scope="session")
def data_cache(tmp_path_factory) -> Path:
    """A fresh directory where gensys prepares its TFDS builders for this run, one for all
    the pytest-xdist workers: each dataset is prepared once, under the lock gensys takes
    beside it, and the other workers wait for it and read it (binarized MNIST's 60,000
    text lines were parsed once a worker before)."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return tmp_path_factory.mktemp("gensys_data")
    shared = tmp_path_factory.getbasetemp().parent / "gensys_data"  # this run's, all workers
    shared.mkdir(exist_ok=True)
    return shared


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data. Tests using it skip cleanly when it is absent, except
    under ``CI=true``, where the data must be there and its absence fails the test."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared data is missing: {path}")
        pytest.skip(f"../shared/data not available here: {path}")
    return path


_RECIPES: dict = {}


def recipe_of(config):
    """``gensys.recipes.recipe_for(config)``, built once per family, model, sampler and
    dataset in this test process: the engine keeps one compiled engine per recipe, so
    training, resuming, evaluating and sampling the same model trace each function once."""
    from gensys.recipes import recipe_for

    key = (config.family, repr(config.model), repr(config.sampler), config.data.name)
    if key not in _RECIPES:
        _RECIPES[key] = recipe_for(config)
    return _RECIPES[key]


def small_run_config(
    name: str,
    data_cache: Path,
    num_steps: int,
    model: dict | None = None,
    *,
    split: str = "train[:32]",
    eval_split: str = "test[:16]",
    data_dir: str | None = None,
    checkpoint_every: int | None = None,
):
    """``experiments/configs/<name>.py`` shrunk for a test: batches of 8, a log and metric
    line every step, 4 samples, ``model`` fields overridden; typed. Checkpoints every
    ``checkpoint_every`` steps, by default only at the end of a run (the loop always saves
    its last step, which is all a resume needs; each save cost about 0.3 s here)."""
    import importlib

    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    raw = importlib.import_module(f"experiments.configs.{name}").get_config()
    raw.data.cache_dir = str(data_cache)
    raw.data.batch_size = 8
    raw.eval.batch_size = 8
    raw.data.split, raw.eval.split = split, eval_split
    if data_dir is not None:
        raw.data.dir = data_dir
    raw.train.update(num_steps=num_steps, log_every=1, checkpoint_every=checkpoint_every or
                     num_steps, num_samples=4, progress_bar=False)  # fmt: skip
    raw.model.update(**(model or {}))
    return from_mapping(ExperimentConfig, raw)


def assert_same_state(config, workdir_a: Path, workdir_b: Path) -> None:
    """The latest checkpoints of two runs of ``config`` hold bit-identical arrays (every
    parameter, optimizer state, EMA and counter)."""
    import numpy as np

    from gensys.train import loop

    _, a, _ = loop.load_latest(config, workdir_a, recipe_of(config))
    _, b, _ = loop.load_latest(config, workdir_b, recipe_of(config))
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def train_straight_and_resumed(make_config, tmp_path: Path, steps: int = 3):
    """Trains ``make_config(steps)`` in one go, and in a second workdir ``steps - 1`` steps
    then resumed to ``steps``; asserts the two end states are bit-identical. Returns the
    config, the resumed workdir and its last loop result."""
    from gensys.train import loop

    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    config, shorter = make_config(steps), make_config(steps - 1)
    loop.train(config, straight, recipe_of(config))
    loop.train(shorter, resumed, recipe_of(shorter))
    result = loop.train(config, resumed, recipe_of(config))
    assert result.step == steps
    assert_same_state(config, straight, resumed)
    return config, resumed, result


def write_cifar10(
    directory: Path, per_batch: int = 2, num_test: int = 3, *, archive: bool = False, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Small CIFAR-10 files in the exact binary format (``local_files.write_cifar10``): five
    training batches of ``per_batch`` random images and a test batch of ``num_test``, as
    the extracted folder or the ``.tar.gz``. Returns the arrays each split should read as."""
    from gensys.data import local_files

    rng = np.random.default_rng(seed)
    splits = {}
    for split, count in (("train", 5 * per_batch), ("test", num_test)):
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        splits[split] = (images, rng.integers(0, 10, count).astype(np.int64))
    local_files.write_cifar10(directory, splits, archive=archive)
    return splits
