"""Two processes, one model: ``jax.distributed`` on this machine (loopback coordinator, gloo
CPU collectives). Each process reads its own half of every batch, only process 0 writes
metrics, Orbax saves and restores across both, and the result equals one process with
two devices, bit for bit."""

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

from gensys.train import loop
from gensys.train.metric_writers import read_metrics
from tests.integration.test_engine import params_of, toy_config
from tests.toy_recipe import make_toy_recipe

pytestmark = pytest.mark.slow  # subprocesses that compile; still in the default suite
ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
sys.path.insert(0, {root!r})
import jax
import numpy as np
import tests.conftest  # the suite's generator and compilation cache
from gensys.train import runtime
runtime.set_cpu_devices(1)
runtime.initialize_distributed("localhost:{port}", 2, {process_id})
from gensys.train import loop
from tests.integration.test_engine import toy_config
from tests.toy_recipe import make_toy_recipe

assert jax.process_count() == 2 and jax.device_count() == 2
config = toy_config({data_cache!r}, num_steps={num_steps})
result = loop.train(config, {workdir!r}, make_toy_recipe())
leaves = [np.asarray(x.addressable_data(0)) for x in jax.tree.leaves(result.state.model)]
np.savez({workdir!r} + "/process_{process_id}.npz", *leaves)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def run_two_processes(workdir, data_cache, num_steps):
    port = free_port()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(
                    SCRIPT.format(
                        root=str(ROOT),
                        port=port,
                        process_id=i,
                        data_cache=str(data_cache),
                        num_steps=num_steps,
                        workdir=str(workdir),
                    )
                ),
            ],  # fmt: skip
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(2)
    ]
    for i, proc in enumerate(procs):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"process {i}: {err[-3000:]}"
    return [list(np.load(workdir / f"process_{i}.npz").values()) for i in range(2)]


def test_two_processes_train_save_resume_like_one(tmp_path, data_cache):
    from gensys.data.datasets import load_split

    load_split("digits", "train", cache_dir=data_cache)  # prepared once, not by both at once
    workdir = tmp_path / "two"
    run_two_processes(workdir, data_cache, 3)
    assert sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
    first, second = run_two_processes(workdir, data_cache, 5)  # resumes from step 3
    one = loop.train(toy_config(data_cache, num_steps=5), tmp_path / "one", make_toy_recipe())
    for a, b, c in zip(first, second, jax.tree.leaves(params_of(one)), strict=True):
        np.testing.assert_array_equal(a, b)  # both processes hold the same model
        np.testing.assert_array_equal(a, np.asarray(c))  # ... the single-process one
    steps = [m["step"] for m in read_metrics(workdir) if any(k.startswith("train/") for k in m)]
    assert steps == [1, 2, 3, 4, 5]  # process 0 alone wrote them, each once
