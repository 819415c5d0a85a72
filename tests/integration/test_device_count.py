"""One, two or eight devices give the same run: every family's engine, initialised and
trained 2 steps on the loop's batches from the same seed on 1 and on 8 host devices
(``--xla_force_host_platform_device_count`` as ``jax_num_cpu_devices``), ends in the same
parameters up to float32 reduction order and draws the same samples from the same key
(keys are per example, not per device). The loop around the engine (checkpoints, the
final evaluation and figures) is the same code at any device count and is left out here:
compiling it twice more cost most of this file's time.

Runs with the suite's faster-compiling "rbg" generator (this file compiles 5 families
twice from a cold cache); with JAX's default threefry the same checks passed too (run by
hand: 140 s against 102 s cold)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # subprocesses that compile; still in the default suite
ROOT = Path(__file__).resolve().parents[2]
FAMILIES = ("vae", "ddpm", "gan", "flow", "autoregressive")
# Documented tolerance: parameters after 2 Adam steps differ by reduction order only, 1e-5,
# except where a gradient is exactly zero in exact arithmetic (the DCGAN's convolution
# biases feed batch norm, which subtracts them out): there Adam's first steps,
# lr * g / |g|, turn rounding noise of either sign into steps of +-lr, so those entries may
# differ by up to 2 * lr * steps = 8e-4 (lr 2e-4). Samples agree to 1e-4 in every family.
PARAMS_ATOL = {"gan": 2 * 2e-4 * 2 + 1e-5}
SAMPLES_ATOL = 1e-4

SCRIPT = """
import dataclasses, sys
sys.path.insert(0, {root!r})
import jax
import tests.conftest  # the compilation cache and the rbg generator (2 devices: undone next)
jax.config.update("jax_num_cpu_devices", {devices})
import numpy as np
from gensys.data.batches import BatchIterator
from gensys.data.datasets import load_split
from gensys.train import sharding
from gensys.train.engine import Engine
from tests.conftest import recipe_of
from tests.integration import test_autoregressive, test_ddpm, test_flows, test_gan, test_vae

dc = {data_cache!r}
gan = test_gan.tiny("dcgan_digits", dc, 2, image_size=8)
configs = dict(
    vae=test_vae.tiny("vae_digits", dc, 2),
    ddpm=test_ddpm.tiny_config(dc, 2),
    gan=dataclasses.replace(gan, data=dataclasses.replace(gan.data, batch_size=8)),
    flow=test_flows.tiny("realnvp_digits", dc, 2),
    autoregressive=test_autoregressive.tiny("pixelcnn_digits", dc, 2),
)
out = {{}}
for family, config in configs.items():
    # The engine's sharded init, two training steps on the loop's batches, and 8 samples:
    # what differs with the device count (the loop around them is the same code either way).
    recipe = recipe_of(config)
    engine = Engine(recipe, sharding.make_mesh())
    assert jax.device_count() == {devices} and engine.mesh.size == {devices}
    data = load_split(config.data.name, config.data.split, cache_dir=dc)
    batches = BatchIterator(data, config.data.batch_size, seed=config.train.seed,
                            representation=recipe.representation,
                            drop_remainder=recipe.full_batches)
    key = jax.random.key(config.train.seed)
    state = None
    for step in range(2):
        batch = sharding.shard_batch(next(batches), engine.mesh)
        state = engine.init(key, batch) if state is None else state
        state, _ = engine.train_step(state, batch, jax.random.fold_in(key, step))
    for i, leaf in enumerate(jax.tree.leaves(jax.device_get(state.model))):
        out[f"{{family}}/state/{{i}}"] = np.asarray(leaf)
    out[f"{{family}}/samples"] = engine.sample(state, jax.random.key(7), 8)
np.savez({path!r}, **out)
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_cache):
    from gensys.data.datasets import load_split

    load_split("digits", "train", cache_dir=data_cache)  # prepared once, not by both at once
    base = tmp_path_factory.mktemp("devices")
    procs = {}
    for devices in (1, 8):
        code = SCRIPT.format(
            root=str(ROOT), devices=devices, data_cache=str(data_cache),
            path=str(base / f"{devices}.npz"),
        )  # fmt: skip
        procs[devices] = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
    for devices, proc in procs.items():
        _, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, f"{devices} devices: {err[-3000:]}"
    return {d: dict(np.load(base / f"{d}.npz")) for d in (1, 8)}


@pytest.mark.parametrize("family", FAMILIES)
def test_one_and_eight_devices_agree(runs, family):
    one, eight = runs[1], runs[8]
    names = sorted(k for k in one if k.startswith(f"{family}/state/"))
    assert names and names == sorted(k for k in eight if k.startswith(f"{family}/state/"))
    worst = max(float(np.max(np.abs(one[k].astype(np.float64) - eight[k]), initial=0.0))
                for k in names if one[k].dtype.kind == "f")  # fmt: skip
    np.testing.assert_allclose(one[f"{family}/samples"], eight[f"{family}/samples"],
                               atol=SAMPLES_ATOL)  # fmt: skip
    bound = PARAMS_ATOL.get(family, 1e-5)
    assert worst <= bound, f"{family}: largest parameter difference {worst:.3g} > {bound:.3g}"
