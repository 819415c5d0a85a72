"""What XLA:CPU's compile settings cost and save: compile time of a tiny DDPM training step
(the test suite's UNet size, through the engine's guarded step) and run time of a compute-bound
step (FVSBN on binarized-MNIST-sized images, batch 100), under each setting.

    python -m benchmarks.compile_time [--repeats=3]

Settings, each in a fresh process (XLA reads ``XLA_FLAGS`` when its backend starts):

- ``product``: gensys's own flags (``gensys.train.runtime.tune_cpu_compiler``);
- ``tests, MLIR emitters``: plus the test suite's ``--xla_backend_optimization_level=0
  --xla_llvm_disable_expensive_passes=true``;
- ``tests``: plus ``--xla_cpu_use_fusion_emitters=false`` (what ``tests/conftest.py`` sets).

In each, the engine's finiteness check of the DDPM state is compiled both ways
(``gensys.train.engine.all_finite``: a reduction per leaf, or one over the leaves
concatenated) alone and inside the guarded step; and the FVSBN step runs compiled under
the process's flags and with ``jax.jit(compiler_options=tests.learning.OPTIMIZED)`` (how
the learning tests compile their steps). Medians over ``--repeats`` processes.
Results: ``benchmarks/results/compile_time.{md,json}``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from absl import app, flags

_REPEATS = flags.DEFINE_integer("repeats", 3, "Processes per setting (medians reported).")
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where the results go.")
_WORKER = flags.DEFINE_string("worker", None, "Internal: measure in this process, print JSON.")

TEST_FLAGS = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
SETTINGS = {
    "product": "",
    "tests, MLIR emitters": TEST_FLAGS,
    "tests": TEST_FLAGS + " --xla_cpu_use_fusion_emitters=false",
}
FVSBN_STEPS = 30
# The test suite's tiny UNet (tests/integration/test_ddpm.py's TINY_MODEL, on the recipe's
# defaults otherwise; importing that module would import the suite's conftest, which sets
# the tests' flags in this process).
TINY_DDPM = {"num_timesteps": 10, "channels": 8, "channel_mults": (1, 2), "num_res_blocks": 1,
             "attention_resolutions": (4,), "warmup_steps": 2}  # fmt: skip


def measure() -> dict:
    """Compile and run times in this process, under its ``XLA_FLAGS``."""
    import jax
    import jax.numpy as jnp

    from gensys.data.datasets import get_spec
    from gensys.recipes import build_recipe
    from gensys.train import engine as engine_lib
    from gensys.train import runtime, sharding
    from tests.learning import OPTIMIZED  # imports no test configuration (conftest)

    runtime.tune_cpu_compiler()
    jax.config.update("jax_default_prng_impl", "rbg")  # the suite's generator
    out = {}
    recipe = build_recipe("ddpm", dict(TINY_DDPM), get_spec("digits"))
    mesh = sharding.make_mesh(jax.devices()[:1])
    original = engine_lib.all_finite
    for concatenated in (False, True):
        # A fresh engine each time: nothing compiled before is reused.

        def check(tree, forced=concatenated, **_):  # the engine's own choice overridden
            return original(tree, concatenated=forced)

        engine_lib.all_finite = check
        try:
            eng = engine_lib.Engine(recipe, mesh)
        finally:
            engine_lib.all_finite = original
        batch = eng.example_batch(get_spec("digits"), 8)
        state = eng.init(jax.random.key(0), batch)
        name = "concatenated" if concatenated else "per_leaf"
        tick = time.perf_counter()
        eng._all_finite.lower(state.model).compile()
        out[f"check_compile_s/{name}"] = time.perf_counter() - tick
        tick = time.perf_counter()
        eng._train_step.lower(state, batch, jax.random.key(1)).compile()
        out[f"step_compile_s/{name}"] = time.perf_counter() - tick
        out["state_leaves"] = len(jax.tree.leaves(state.model))

    fvsbn = build_recipe("autoregressive", {"architecture": "fvsbn"}, get_spec("binarized_mnist"))
    images = (jax.random.uniform(jax.random.key(2), (100, 28, 28, 1)) > 0.5).astype(jnp.int32)
    batch = {"image": images, "label": jnp.zeros(100, jnp.int32), "mask": jnp.ones(100)}
    for name, options in (("flags", None), ("optimized", OPTIMIZED)):
        step = jax.jit(fvsbn.train_step, compiler_options=options)
        state = jax.jit(fvsbn.init)(jax.random.key(0), batch)
        tick = time.perf_counter()
        compiled = step.lower(state, batch, jax.random.key(1)).compile()
        out[f"fvsbn_compile_s/{name}"] = time.perf_counter() - tick
        state, _ = compiled(state, batch, jax.random.key(1))
        jax.block_until_ready(state)
        tick = time.perf_counter()
        for i in range(FVSBN_STEPS):
            state, _ = compiled(state, batch, jax.random.key(i))
        jax.block_until_ready(state)
        out[f"fvsbn_step_ms/{name}"] = 1000 * (time.perf_counter() - tick) / FVSBN_STEPS
    return out


def run_setting(flags_text: str) -> dict:
    env = {**os.environ, "XLA_FLAGS": flags_text, "JAX_PLATFORMS": "cpu"}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)  # every compile below is a cold one
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.compile_time", f"--worker={flags_text or '-'}"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"worker failed under XLA_FLAGS={flags_text!r}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def render(results: dict[str, dict], repeats: int) -> str:
    import jax

    rows = [
        (
            "finiteness check of the DDPM state, a reduction per leaf (s)",
            "check_compile_s/per_leaf",
        ),
        ("finiteness check, leaves concatenated (s)", "check_compile_s/concatenated"),
        ("guarded DDPM step, per-leaf check (s)", "step_compile_s/per_leaf"),
        ("guarded DDPM step, concatenated check (s)", "step_compile_s/concatenated"),
        ("FVSBN step compile, process flags (s)", "fvsbn_compile_s/flags"),
        ("FVSBN step compile, learning tests' options (s)", "fvsbn_compile_s/optimized"),
        ("FVSBN step run, process flags (ms)", "fvsbn_step_ms/flags"),
        ("FVSBN step run, learning tests' options (ms)", "fvsbn_step_ms/optimized"),
    ]
    names = list(results)
    leaves = int(next(iter(results.values()))["state_leaves"][0])
    lines = [
        "# Compile settings on XLA:CPU",
        "",
        f"`python -m benchmarks.compile_time --repeats={repeats}` on {platform.machine()}, "
        f"{os.cpu_count()} cores, jax {jax.__version__}; medians of {repeats} fresh processes "
        "per setting, no compilation cache. The DDPM step is the test suite's tiny UNet "
        f"(`tests/integration/test_ddpm.py`, {leaves} state leaves) through the engine's "
        "guarded step on one device; FVSBN is batch 100 of 28 x 28 binary images, "
        f"{FVSBN_STEPS} steps timed after one.",
        "",
        "Settings: " + "; ".join(f"`{n}`: `{SETTINGS[n] or 'gensys flags only'}`" for n in names),
        "",
        "| | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, key in rows:
        cells = [f"{np.median(results[n][key]):.2f}" for n in names]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    if _WORKER.value is not None:
        print(json.dumps(measure()))
        return
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(_REPEATS.value):
        for name, flags_text in SETTINGS.items():  # interleaved, so drift hits all alike
            for key, value in run_setting(flags_text).items():
                results.setdefault(name, {}).setdefault(key, []).append(value)
            print(name, {k: round(float(np.median(v)), 3) for k, v in results[name].items()})
    out = Path(_OUT.value)
    out.mkdir(parents=True, exist_ok=True)
    (out / "compile_time.json").write_text(json.dumps(results, indent=1))
    (out / "compile_time.md").write_text(render(results, _REPEATS.value))
    print((out / "compile_time.md").read_text())


if __name__ == "__main__":
    app.run(main)
