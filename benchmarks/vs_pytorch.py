"""gensys against PyTorch diffusers on the same machine, in one run: the DDPM training step,
DDIM with 50 steps and DPM-Solver++(2M) with 20 steps, one UNet call (a sampler's step)
at batch 64, 128 and 256, plus gensys-only throughputs.

    make bench            # creates .venv-peer from benchmarks/requirements-peer.txt, then
    python -m benchmarks.vs_pytorch --peer_python=.venv-peer/bin/python
    make bench-quick      # --quick: one round, training step and DDIM-50 only

Both sides run as worker processes (``--worker`` here, ``benchmarks/peer_pytorch.py``
there) that build their model once and then time calls on command, so the driver can
interleave them: each round runs ``--reps`` calls of one side, then of the other, the
order alternating between rounds, and the figures are medians over all calls. The
training step's compile (gensys, ahead of time) and the first call (both) are reported
apart from the steady state; gensys runs without the persistent compilation cache.

Each side uses its defaults on this machine: gensys one XLA host device per core with the
batch sharded over them (``runtime.cpu_device_count_for``) and its XLA:CPU flags
(``runtime.tune_cpu_compiler``); PyTorch its intra-op threads (one per core).

Writes ``benchmarks/results/vs_pytorch.{json,md}`` (``--output``).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from absl import app, flags

from benchmarks.vs_pytorch_report import write_report
from benchmarks.worker_protocol import UNET_CALL_PREFIX, unet_call_batch

REPO = Path(__file__).resolve().parents[1]
_PEER_PYTHON = flags.DEFINE_string(
    "peer_python", str(REPO / ".venv-peer" / "bin" / "python"), "Python of the PyTorch side."
)
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Interleaved rounds of the training step.")
_REPS = flags.DEFINE_integer("reps", 2, "Training steps per side per round.")
_SAMPLING_ROUNDS = flags.DEFINE_integer(
    "sampling_rounds", 3, "Interleaved rounds of the samplers (one call per side per round)."
)
_WORKLOADS = flags.DEFINE_list(
    "workloads", ["train_step", "ddim50", "dpmpp20"], "Workloads run on both sides."
)
_GENSYS_ONLY = flags.DEFINE_list(
    "gensys_only",
    ["realnvp_digits", "glow_digits", "nade_digits", "pixelcnn_digits",
     "pixel_transformer_digits", "pixel_transformer_binarized_mnist"],
    "Sampling throughputs measured on gensys alone (experiment configs, 64 samples), and "
    "'cifar_unet' (the 35.7M DDPM CIFAR-10 UNet step at batch 128; for GPUs).",
)  # fmt: skip
_SAMPLING_BATCHES = flags.DEFINE_list(
    "sampling_batches",
    ["64", "128", "256"],
    "Batch sizes of one UNet call (a sampler's step) timed on both sides; empty: none.",
)
_SETTLE_S = flags.DEFINE_float(
    "settle_s",
    5.0,
    "Pause before each block of calls. Right after PyTorch's calls gensys's training steps "
    "took 2.3-3.1 s instead of 1.6 s, still with a 1 s pause (on a 2-core Xeon); with 5 s "
    "they took 1.57-1.65 s, as in a process alone.",
)
_WARMUP = flags.DEFINE_integer(
    "warmup",
    1,
    "Untimed calls at the start of each block, both sides: even after the pause a side's "
    "first call after the other's block was slower (gensys's training step 1.7-2.6 s "
    "against 1.55 s; PyTorch's 0.94-0.98 s against 0.86 s).",
)
_OUTPUT = flags.DEFINE_string(
    "output", str(REPO / "benchmarks" / "results" / "vs_pytorch"), "Results path stem."
)
_WORKER = flags.DEFINE_bool("worker", False, "Run as the gensys worker (used by the driver).")
_QUICK = flags.DEFINE_bool(
    "quick",
    False,
    "For development: one interleaved round of the training step and of DDIM-50, no "
    "gensys-only throughputs, written to <output>_quick so the committed results stay.",
)

BATCH = 64
IMAGE = (32, 32, 1)
# The matched UNet (diffusers: block_out_channels (32, 64, 64), layers_per_block 2,
# attention at 16x16): 1,623,169 parameters on both sides.
UNET = dict(
    channels=32, channel_mults=(1, 2, 2), num_res_blocks=2, attention_resolutions=(16,),
    fast_cpu_gradients=True,
)  # fmt: skip
CIFAR_UNET = dict(
    channels=128, channel_mults=(1, 2, 2, 2), num_res_blocks=2, attention_resolutions=(16,),
    dropout=0.1, fast_cpu_gradients=True,
)  # fmt: skip
SAMPLERS = {"ddim50": ("ddim", 50), "dpmpp20": ("dpmpp_2m", 20)}


# ----------------------------------------------------------------------------- gensys worker
class _GensysWorkloads:
    """Each workload's gensys function, built on first use (one engine per workload)."""

    def __init__(self):
        import jax

        self.jax = jax
        self.built = {}

    def _ddpm_engine(self, sampler=("ddpm", None), dtype="float32", net=UNET, batch=BATCH,
                     image=IMAGE):  # fmt: skip
        import numpy as np

        from gensys.data.datasets import DatasetSpec
        from gensys.recipes.diffusion import DDPMConfig, SamplerConfig, make_ddpm_recipe
        from gensys.train import sharding
        from gensys.train.engine import Engine

        spec = DatasetSpec("synthetic", "benchmark", image, 256, None)
        config = DDPMConfig(**net, learning_rate=2e-4, warmup_steps=0, compute_dtype=dtype)
        recipe = make_ddpm_recipe(
            config, spec, SamplerConfig(name=sampler[0], num_steps=sampler[1])
        )
        engine = Engine(recipe, sharding.make_mesh())
        rng = np.random.default_rng(0)
        batch_arrays = {
            "image": rng.uniform(-1, 1, (batch, *image)).astype(np.float32),
            "label": np.zeros((batch,), np.int32),
            "mask": np.ones((batch,), np.float32),
        }
        global_batch = sharding.shard_batch(batch_arrays, engine.mesh)
        state = engine.init(self.jax.random.key(0), global_batch)
        return engine, state, global_batch

    def _train_fn(self, **kwargs):
        engine, state, batch = self._ddpm_engine(**kwargs)
        box = {"state": state, "i": 0}
        # The engine's guarded step compiled ahead of time, so its compile is timed alone
        # (tracing and lowering included); the calls then run that executable.
        tick = time.perf_counter()
        lowered = engine._train_step.lower(state, batch, self.jax.random.key(0))
        compiled = lowered.compile()
        compile_s = time.perf_counter() - tick
        # XLA's count for the whole (unpartitioned) step: forward, backward, Adam, EMA.
        flops = lowered.cost_analysis()

        def step():
            box["i"] += 1
            box["state"], metrics = compiled(box["state"], batch, self.jax.random.key(box["i"]))
            self.jax.block_until_ready(metrics)

        params = sum(x.size for x in self.jax.tree.leaves(state.model.params))
        return step, {
            "parameters": int(params), "flops": float(flops["flops"]), "compile_s": compile_s,
        }  # fmt: skip

    def _unet_call_fn(self, batch):
        """One UNet evaluation at ``batch``, the batch sharded over the devices."""
        import jax.numpy as jnp

        from gensys.nets.unet import UNet
        from gensys.train import sharding

        mesh = sharding.make_mesh()
        net = UNet(**UNET)
        data = sharding.batch_sharded(mesh)
        x = self.jax.device_put(
            self.jax.random.normal(self.jax.random.key(1), (batch, *IMAGE)), data
        )
        t = self.jax.device_put(jnp.full((batch,), 500, jnp.int32), data)
        params = self.jax.jit(net.init, out_shardings=sharding.replicated(mesh))(
            self.jax.random.key(0), x, t
        )
        apply = self.jax.jit(net.apply)

        def call():
            self.jax.block_until_ready(apply(params, x, t))

        return call, {"flops": unet_forward_flops(batch)}

    def _sample_fn(self, engine, state, num=BATCH):
        box = {"i": 0}

        def draw():
            box["i"] += 1
            engine.sample(state, self.jax.random.key(box["i"]), num)

        return draw

    def _config_sampler(self, name):
        from benchmarks.common import experiment_config
        from gensys.data.datasets import get_spec
        from gensys.recipes.registry import build_recipe
        from gensys.train import sharding
        from gensys.train.config import ExperimentConfig
        from gensys.train.engine import Engine
        from gensys.typed_config import from_mapping

        config = from_mapping(ExperimentConfig, experiment_config(name))
        spec = get_spec(config.data.name)
        recipe = build_recipe(config.family, config.model, spec, config.sampler)
        engine = Engine(recipe, sharding.make_mesh())
        batch = engine.example_batch(spec, config.data.batch_size)
        state = engine.init(self.jax.random.key(0), batch)
        params = sum(x.size for x in self.jax.tree.leaves(state.model))
        return self._sample_fn(engine, state), {"state_size": int(params)}

    def build(self, workload):
        if workload == "train_step":
            return self._train_fn()
        if workload in SAMPLERS:
            engine, state, _ = self._ddpm_engine(sampler=SAMPLERS[workload])
            # One network call per step for both samplers here: steps x one forward pass.
            return self._sample_fn(engine, state), {
                "flops": SAMPLERS[workload][1] * unet_forward_flops()
            }
        batch = unet_call_batch(workload)
        if batch is not None:
            return self._unet_call_fn(batch)
        if workload == "cifar_unet":
            on_cpu = self.jax.default_backend() == "cpu"
            return self._train_fn(
                dtype="float32" if on_cpu else "bfloat16", net=CIFAR_UNET, batch=128,
                image=(32, 32, 3),
            )  # fmt: skip
        return self._config_sampler(workload)


def unet_forward_flops(batch: int = BATCH) -> float:
    """XLA's floating-point operation count of one forward pass of the matched UNet."""
    import jax
    import jax.numpy as jnp

    from gensys.nets.unet import UNet

    net = UNet(**UNET)
    x, t = jnp.zeros((batch, *IMAGE)), jnp.zeros((batch,), jnp.int32)
    params = jax.eval_shape(net.init, jax.random.key(0), x, t)
    return float(jax.jit(net.apply).lower(params, x, t).cost_analysis()["flops"])


def matmul_gflops(rows: int = 2048, size: int = 1024, calls: int = 5) -> float:
    """Measured float32 matrix-product rate of this machine through XLA, all devices at once.

    ``[devices * rows, size] x [size, size]`` with the rows split over the devices, as the
    workloads split their batch (a product on one of several host devices gets only
    that device's share of the cores).
    """
    import jax
    import jax.numpy as jnp

    from gensys.train import sharding

    mesh = sharding.make_mesh()
    a = jax.device_put(jnp.ones((mesh.size * rows, size)), sharding.batch_sharded(mesh))
    b = jax.device_put(jnp.ones((size, size)), sharding.replicated(mesh))
    product = jax.jit(lambda a, b: a @ b)
    product(a, b).block_until_ready()
    times = []
    for _ in range(calls):
        tick = time.perf_counter()
        product(a, b).block_until_ready()
        times.append(time.perf_counter() - tick)
    return 2 * mesh.size * rows * size * size / statistics.median(times) / 1e9


def matched_unet_parameters() -> int:
    import jax
    import jax.numpy as jnp

    from gensys.nets.unet import UNet

    shapes = jax.eval_shape(
        lambda: UNet(**UNET).init(
            jax.random.key(0), jnp.zeros((1, *IMAGE)), jnp.zeros((1,), jnp.int32)
        )
    )
    return int(sum(x.size for x in jax.tree.leaves(shapes)))


def describe_gensys() -> dict:
    import jax
    import jaxlib

    return {
        "framework": f"gensys (JAX {jax.__version__}, jaxlib {jaxlib.__version__})",
        "python": platform.python_version(),
        "backend": jax.default_backend(),
        "devices": len(jax.devices()),
        "device_kind": jax.devices()[0].device_kind,
        "xla_flags": os.environ.get("XLA_FLAGS", ""),
        "parameters": matched_unet_parameters(),
        "matmul_gflops": matmul_gflops(),
    }


def worker() -> None:
    """The gensys side of :mod:`benchmarks.worker_protocol`."""
    from benchmarks.worker_protocol import serve
    from gensys.train import runtime

    runtime.quiet_library_logs()
    runtime.tune_cpu_compiler()
    runtime.set_cpu_devices(runtime.cpu_device_count_for(BATCH))
    serve(describe_gensys, _GensysWorkloads().build)


# ----------------------------------------------------------------------------- driver
class _Worker:
    """A worker process spoken to in JSON lines."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO, env=env
        )

    def ask(self, **command):
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.name} worker exited (code {self.proc.wait()})")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.name}: {answer['error']}")
        return answer

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)


def machine() -> dict:
    model = "unknown"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = None
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        memory = round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)
    return {"cpu": model, "cores": os.cpu_count(), "memory_gib": memory,
            "platform": platform.platform()}  # fmt: skip


def interleaved(gensys, peer, workload, rounds, reps) -> dict:
    """Setup on both sides, then ``rounds`` alternating blocks of ``reps`` calls."""
    result = {"gensys": gensys.ask(op="setup", workload=workload)}
    result["pytorch"] = peer.ask(op="setup", workload=workload)
    times = {"gensys": [], "pytorch": []}
    for r in range(rounds):
        order = [(gensys, "gensys"), (peer, "pytorch")]
        for worker_, side in order if r % 2 == 0 else order[::-1]:
            time.sleep(_SETTLE_S.value)
            answer = worker_.ask(op="run", workload=workload, reps=reps, warmup=_WARMUP.value)
            times[side] += answer["times"]
    for side in times:
        result[side]["times"] = times[side]
        result[side]["median_s"] = statistics.median(times[side])
    result["ratio"] = result["gensys"]["median_s"] / result["pytorch"]["median_s"]
    print(
        f"{workload}: gensys {result['gensys']['median_s']:.3f} s, "
        f"pytorch {result['pytorch']['median_s']:.3f} s, ratio {result['ratio']:.2f}",
        flush=True,
    )
    return result


def main(argv) -> None:
    del argv
    if _WORKER.value:
        worker()
        return
    peer_python = Path(_PEER_PYTHON.value)
    if not peer_python.exists():
        raise SystemExit(
            f"no PyTorch environment at {peer_python}: run `make bench` (it creates "
            ".venv-peer from benchmarks/requirements-peer.txt) or pass --peer_python"
        )
    rounds, reps, sampling_rounds = _ROUNDS.value, _REPS.value, _SAMPLING_ROUNDS.value
    workloads, gensys_only, output = _WORKLOADS.value, _GENSYS_ONLY.value, _OUTPUT.value
    sampling_batches = [int(b) for b in _SAMPLING_BATCHES.value]
    if _QUICK.value:
        rounds, sampling_rounds = 1, 1
        workloads = [w for w in workloads if w in ("train_step", "ddim50")]
        gensys_only, sampling_batches, output = [], [], output + "_quick"
    env = dict(os.environ)
    env.pop("GENSYS_COMPILATION_CACHE", None)
    gensys = _Worker("gensys", [sys.executable, "-m", "benchmarks.vs_pytorch", "--worker"], env)
    peer = _Worker("pytorch", [str(peer_python), str(REPO / "benchmarks" / "peer_pytorch.py")])
    try:
        # The peer first: gensys's description measures the product rate, which must not
        # share the cores with PyTorch's start-up.
        peer_side = peer.ask(op="describe")
        sides = {"gensys": gensys.ask(op="describe"), "pytorch": peer_side}
        results = {
            "command": "python -m benchmarks.vs_pytorch " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d"),
            "machine": machine(),
            "sides": sides,
            "rounds": {"train_step": rounds, "samplers": sampling_rounds},
            "settle_s": _SETTLE_S.value,
            "warmup_calls": _WARMUP.value,
            "reps": {"train_step": reps, "samplers": 1},
            "paired": {},
            "unet_calls": {},
            "gensys_only": {},
        }
        for workload in workloads:
            counts = (rounds, reps) if workload == "train_step" else (sampling_rounds, 1)
            results["paired"][workload] = interleaved(gensys, peer, workload, *counts)
        for batch in sampling_batches:
            # Three calls a side a round: one call is short, and its median steadier so.
            results["unet_calls"][str(batch)] = interleaved(
                gensys, peer, f"{UNET_CALL_PREFIX}{batch}", sampling_rounds, 3
            )
        for workload in gensys_only:
            setup = gensys.ask(op="setup", workload=workload)
            times = gensys.ask(op="run", workload=workload, reps=rounds)["times"]
            setup.update(times=times, median_s=statistics.median(times))
            setup["items"] = 1 if workload == "cifar_unet" else BATCH
            results["gensys_only"][workload] = setup
            print(f"{workload}: {setup['median_s']:.3f} s a call", flush=True)
    finally:
        gensys.close()
        peer.close()
    write_report(results, Path(output), BATCH, IMAGE)
    print(f"wrote {output}.md and .json")


if __name__ == "__main__":
    app.run(main)
