"""DDPM end to end with a tiny UNet: train, resume bit-identically, eval, sample; and the CLI."""

import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
from PIL import Image

from gensys.train import loop
from gensys.train.config import ExperimentConfig
from gensys.train.metric_writers import read_metrics
from gensys.typed_config import from_mapping
from tests.conftest import recipe_of

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = {
    "num_timesteps": 10,
    "channels": 8,
    "channel_mults": (1, 2),
    "num_res_blocks": 1,
    "attention_resolutions": (4,),
    "warmup_steps": 2,
}


def tiny_config(data_cache, num_steps):
    from experiments.configs.ddpm_digits import get_config

    raw = get_config()
    raw.data.cache_dir = str(data_cache)
    raw.data.split = "train[:24]"
    raw.data.batch_size = 8
    raw.eval.split = "test[:16]"
    raw.eval.batch_size = 8
    raw.train.update(
        num_steps=num_steps, log_every=1, checkpoint_every=1, num_samples=4, progress_bar=False
    )
    raw.model.update(TINY_MODEL)
    return from_mapping(ExperimentConfig, raw)


def test_ddpm_trains_resumes_bit_identically_and_samples(tmp_path, data_cache):
    three, two = tiny_config(data_cache, 3), tiny_config(data_cache, 2)
    straight = loop.train(three, tmp_path / "a", recipe_of(three))
    loop.train(two, tmp_path / "b", recipe_of(two))
    resumed = loop.train(three, tmp_path / "b", recipe_of(three))
    for x, y in zip(
        jax.tree.leaves(jax.device_get(straight.state)),
        jax.tree.leaves(jax.device_get(resumed.state)),
        strict=True,
    ):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    assert np.isfinite(straight.last_metrics["train/loss"])
    assert np.isfinite(straight.last_metrics["eval/loss"])
    grid = Image.open(tmp_path / "a" / "samples" / "step_0000003.png")
    assert grid.size[0] >= 256
    steps = [m["step"] for m in read_metrics(tmp_path / "b") if "train/loss" in m]
    assert steps == [1, 2, 3]


def test_command_line_train_eval_sample(tmp_path, data_cache):
    overrides = [
        "--config.model.num_timesteps=10",
        "--config.model.channels=8",
        "--config.model.channel_mults=(1,2)",
        "--config.model.num_res_blocks=1",
        "--config.model.attention_resolutions=(4,)",
        "--config.model.warmup_steps=2",
    ]
    common = [
        sys.executable,
        "-m",
        "experiments.main",
        "--config=experiments/configs/ddpm_digits.py",
        f"--workdir={tmp_path}",
        f"--config.data.cache_dir={data_cache}",
        "--config.data.split=train[:24]",
        "--config.data.batch_size=8",
        "--config.eval.split=test[:16]",
        "--config.eval.batch_size=8",
        "--config.train.num_samples=4",
        "--config.train.log_every=1",
        "--cpu_devices=2",
        *overrides,
    ]
    # The subprocesses share the suite's compilation cache and PRNG, and the shapes and
    # settings of the in-process test above, so their programs are cache hits.
    env = {
        **os.environ,
        "JAX_PLATFORMS": "cpu",
        "JAX_DEFAULT_PRNG_IMPL": jax.config.jax_default_prng_impl,
        "GENSYS_COMPILATION_CACHE": jax.config.jax_compilation_cache_dir,
    }

    def run(*extra):
        done = subprocess.run(
            [*common, *extra], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]

    # Resuming is checked bit for bit in process above; each subprocess here costs
    # ~17 s of start-up (imports, data, tracing), so the CLI runs each mode once.
    run("--config.train.num_steps=3")
    run(
        "--mode=eval", "--config.train.num_steps=3", "--config.model.eval_bpd=True",
        "--config.model.eval_ode_steps=2",
    )  # fmt: skip
    run(
        "--mode=sample",
        "--config.train.num_steps=3",
        "--config.sampler.name=dpmpp_2m",
        "--config.sampler.num_steps=4",
    )
    records = read_metrics(tmp_path)
    assert [r["step"] for r in records if "eval/loss" in r] == [3, 3]
    bpd = [r for r in records if "eval/bpd" in r]
    assert len(bpd) == 1 and np.isfinite(bpd[0]["eval/bpd"]) and bpd[0]["eval/bpd"] > 0
    # The probability-flow ODE's NLL is reported (its values on a 3-step model integrated
    # by one Heun step mean nothing; tests/unit/test_ode_likelihood.py checks them).
    assert np.isfinite(bpd[0]["eval/ode_nll_nats"]) and np.isfinite(bpd[0]["eval/ode_bpd"])
    assert (tmp_path / "samples" / "sample_0000003_dpmpp_2m_4steps.png").exists()
    assert (
        sorted(p.name for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit())[-1] == "3"
    )
