"""One check of gensys on an accelerator: the DDPM CIFAR-10 step, sampling, every CIFAR-10
config trained briefly, all on every local device.

    make gpu-check                                  # python -m benchmarks.gpu_check
    python -m benchmarks.gpu_check --config.data.dir=DIR     # real CIFAR-10 files
    python -m benchmarks.gpu_check --tiny --out=/tmp/check    # a CPU smoke run, tiny sizes
    python -m benchmarks.gpu_check --resume         # run only the parts the results lack
    python -m benchmarks.gpu_check --recount_flops  # count the step's FLOPs again (any CPU)

Parts, each written to ``benchmarks/results/gpu_check.{md,json}`` as soon as it ends (a run
cut short keeps what it measured):

1. the device: its name, count and peak bfloat16 FLOP/s where known;
2. the ``ddpm_cifar10`` training step (the 35.7M-parameter UNet) at batch 128 a device,
   data-parallel over all local devices, in bfloat16 and float32: the median of 50 steps
   after compiling, the step's FLOPs (its products and convolutions, counted on its jaxpr
   by ``benchmarks.flop_count``) and the fraction of the devices' peak it
   reaches (target on one H100/H200: at most 9 ms in bfloat16, at least 40 % of peak);
3. sampling throughput of DDIM-50 and DPM-Solver++(2M) 20 with that UNet, in images/s;
4. every CIFAR-10 config (``experiments/configs/*_cifar10*.py``) trained from scratch for
   ``--steps`` steps: its loss curve (one picture), steps/s, compile time and evaluation
   metrics (bits/dim of the 8-bit images for the likelihood models) on the first test
   images.

On a GPU machine, JAX's CUDA wheels come first (``pip install "jax[cuda12]"`` in the
project's environment). ``--budget_seconds`` (default 450) skips the parts left once it is
spent, and says so.
Without ``--config.data.dir``, CIFAR-10-format files of random pixels are written to a
temporary directory: then part 4 shows that each config trains and how fast, not what it
learns. ``--tiny`` shrinks every network, batch and step count for a CPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from absl import app, flags, logging

from benchmarks.common import experiment_config, machine, start_runtime, typed
from benchmarks.flop_count import matrix_flops

# Quickest first, so that a short time budget covers the most families (on one H200:
# DCGAN 27 s, VAE 24 s, DDPM 67 s, PixelCNN 75 s, RealNVP 204 s for 300 steps, compile
# included); the larger gated PixelCNN, Glow and cosine DDPM last.
CONFIGS = (
    "dcgan_cifar10",
    "vae_cifar10",
    "ddpm_cifar10",
    "pixelcnn_cifar10",
    "realnvp_cifar10",
    "gated_pixelcnn_cifar10",
    "glow_cifar10",
    "ddpm_cifar10_cosine",
)
# Dense bfloat16 peaks (NVIDIA's data sheets, SXM parts, without sparsity).
PEAK_BF16 = {"H200": 989.4e12, "H100": 989.4e12, "A100": 312e12, "L4": 121e12}
# --tiny: what shrinks each family to seconds on a CPU.
TINY = {
    "ddpm": dict(
        channels=8, channel_mults=(1,), num_res_blocks=1, attention_resolutions=(), num_timesteps=50
    ),
    "autoregressive": dict(hidden=6, num_layers=1),
    "flow": dict(steps_per_scale=1, hidden=8, num_blocks=1),
    "gan": dict(width=4, latent_dim=4),
    "vae": dict(channels=(4, 8, 8), hidden=(16,), latent_dim=2, iwae_samples=4, iwae_chunk=2),
}
EVAL_EXAMPLES = 64


@dataclasses.dataclass(frozen=True)
class CheckSettings:
    """What the flags set (the test suite builds one directly: this module defines no
    flags when imported, so it shares a process with the other benchmarks)."""

    data_dir: str | None = None  # CIFAR-10 binary files; None: random pixels
    configs: tuple[str, ...] = CONFIGS  # trained in part 4
    steps: int = 300  # training steps of each config in part 4
    timed_steps: int = 50  # training steps timed in part 2
    dtypes: tuple[str, ...] = ("bfloat16", "float32")  # compute dtypes of part 2
    budget_seconds: float = 450.0  # no part starts after this
    tiny: bool = False  # tiny networks, batches and steps (a CPU smoke run)
    workdir: str | None = None  # where the runs train (default: a temp dir)
    resume: bool = False  # keep the parts already in out/gpu_check.json, run the rest
    recount_flops: bool = False  # only count the FLOPs of out/gpu_check.json's step rows
    command: str | None = None  # the command line, for the report
    out: str = "benchmarks/results"  # where gpu_check.{md,json} go


def _define_flags() -> None:
    defaults = CheckSettings()
    flags.DEFINE_string("config.data.dir", None, "CIFAR-10 binary files (else random).")
    flags.DEFINE_list("configs", list(defaults.configs), "CIFAR-10 configs to train in part 4.")
    flags.DEFINE_integer("steps", defaults.steps, "Training steps of each config in part 4.")
    flags.DEFINE_integer("timed_steps", defaults.timed_steps, "Training steps timed in part 2.")
    flags.DEFINE_float("budget_seconds", defaults.budget_seconds, "No part starts after this.")
    flags.DEFINE_bool("tiny", False, "Tiny networks, batches and steps (CPU smoke run).")
    flags.DEFINE_string("workdir", None, "Where the runs train (default: a temp dir).")
    flags.DEFINE_string("out", defaults.out, "Where gpu_check.{md,json} go.")
    flags.DEFINE_bool(
        "recount_flops", False, "Only count the FLOPs of <out>/gpu_check.json's step rows."
    )
    flags.DEFINE_bool(
        "resume", False, "Keep the parts already in <out>/gpu_check.json; run the others."
    )


def device_facts() -> dict:
    import flax
    import jax

    device = jax.local_devices()[0]
    kind = getattr(device, "device_kind", str(device))
    peak = next((flops for name, flops in PEAK_BF16.items() if name in kind), None)
    return {
        "backend": jax.default_backend(),
        "device": kind,
        "local_devices": jax.local_device_count(),
        "peak_bf16_flops": peak,
        "jax": jax.__version__,
        "flax": flax.__version__,
    }


def random_cifar10(directory: Path, per_batch: int) -> Path:
    """CIFAR-10-format files of uniform random pixels (speed only, nothing to learn)."""
    from gensys.data import local_files

    rng = np.random.default_rng(0)
    splits = {}
    for split, count in (("train", 5 * per_batch), ("test", max(per_batch, EVAL_EXAMPLES))):
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        splits[split] = (images, rng.integers(0, 10, count))
    local_files.write_cifar10(directory, splits)
    return directory


def typed_config(name: str, data_dir: str, tiny: bool, overrides: dict | None = None):
    raw = experiment_config(name)
    raw.data.dir = data_dir
    if tiny:
        raw.model.update(TINY[raw.family])
        raw.data.batch_size = 4
        raw.eval.batch_size = 4
    return typed(raw, overrides)


def _engine_and_batch(config, batch_size: int, state=None):
    """The config's engine on all local devices, a state (``state`` when given: the
    samplers and compute dtypes share one ``ddpm_cifar10`` state, so none is initialised
    twice) and a global batch of its shapes (the step's speed does not depend on the
    pixels)."""
    import jax

    from gensys.data.datasets import get_spec
    from gensys.recipes import recipe_for
    from gensys.train import sharding
    from gensys.train.engine import Engine

    engine = Engine(recipe_for(config), sharding.make_mesh())
    batch = engine.example_batch(get_spec(config.data.name), batch_size)
    if state is None:
        state = engine.init(jax.random.key(0), batch)
    return engine, state, batch


FLOPS_SOURCE = "jaxpr products and convolutions"  # benchmarks.flop_count


def step_flops(engine, state, batch) -> float:
    """FLOPs of one engine training step (tracing only, so on any machine)."""
    import jax

    return float(matrix_flops(engine._train_step, state, batch, jax.random.key(0)))


def recount_step_flops(row: dict, data_dir: str, tiny: bool, state=None):
    """A step row counted another way (an older run's) gets its FLOPs counted again;
    returns the state for the next part."""
    config = typed_config("ddpm_cifar10", data_dir, tiny, {"model.compute_dtype": row["dtype"]})
    engine, state, batch = _engine_and_batch(config, row["batch"], state)
    row["flops"] = step_flops(engine, state, batch)
    row["flops_source"] = FLOPS_SOURCE
    row["flops_per_second"] = row["flops"] / row["median_seconds"]
    return state


def time_train_step(
    data_dir: str, dtype: str, batch_size: int, tiny: bool, timed_steps: int, state=None
) -> tuple[dict, object]:
    """Median seconds of ``ddpm_cifar10``'s training step, its FLOPs and fraction of peak;
    and a fresh copy of the state it started from, for the next part."""
    import jax
    import jax.numpy as jnp

    config = typed_config("ddpm_cifar10", data_dir, tiny, {"model.compute_dtype": dtype})
    engine, state, batch = _engine_and_batch(config, batch_size, state)
    kept = jax.tree.map(jnp.copy, state)  # the step donates its input
    flops = step_flops(engine, state, batch)
    tick = time.perf_counter()
    compiled = engine._train_step.lower(state, batch, jax.random.key(0)).compile()
    compile_seconds = time.perf_counter() - tick
    # The compiled step itself (the engine's jitted step would compile it again).
    state, metrics = compiled(state, batch, jax.random.key(0))
    jax.block_until_ready(metrics)
    times = []
    for i in range(timed_steps):
        tick = time.perf_counter()
        state, metrics = compiled(state, batch, jax.random.key(i + 1))
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - tick)
    seconds = statistics.median(times)
    return {
        "dtype": dtype,
        "batch": batch_size,
        "devices": jax.local_device_count(),
        "median_seconds": seconds,
        "compile_seconds": compile_seconds,
        "flops": flops,
        "flops_source": FLOPS_SOURCE,
        "flops_per_second": flops / seconds,
        "parameters": int(sum(x.size for x in jax.tree.leaves(state.model.params))),
    }, kept


def time_sampler(
    data_dir: str, name: str, num_steps: int, num: int, tiny: bool, state=None
) -> dict:
    import jax

    overrides = {"sampler.name": name, "sampler.num_steps": num_steps}
    config = typed_config("ddpm_cifar10", data_dir, tiny, overrides)
    engine, state, _ = _engine_and_batch(config, 2 * jax.local_device_count(), state)
    tick = time.perf_counter()
    engine.sample(state, jax.random.key(0), num)
    first = time.perf_counter() - tick
    tick = time.perf_counter()
    engine.sample(state, jax.random.key(1), num)
    seconds = time.perf_counter() - tick
    return {
        "sampler": f"{name} {num_steps}",
        "images": num,
        "seconds": seconds,
        "images_per_second": num / seconds,
        "first_call_seconds": first,
    }


def train_config(name: str, data_dir: str, workdir: Path, steps: int, tiny: bool) -> dict:
    """``name`` trained from scratch for ``steps`` steps, then evaluated on the first test
    images: the loss curve, speed and evaluation metrics."""
    import shutil

    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.metric_writers import read_metrics

    overrides = {
        "train.num_steps": steps,
        "train.log_every": max(1, steps // 30),
        "train.checkpoint_every": steps,
        "train.sample_every": 0,
        "train.eval_every": 0,
        "train.num_samples": 4,
        "train.best_metric": "",
        "train.patience": 0,
        "eval.max_examples": 8 if tiny else EVAL_EXAMPLES,
    }
    config = typed_config(name, data_dir, tiny, overrides)
    shutil.rmtree(workdir, ignore_errors=True)
    tick = time.perf_counter()
    result = loop.train(config, workdir, recipe_for(config))
    seconds = time.perf_counter() - tick
    records = read_metrics(workdir)
    losses = {}
    for record in records:
        for key, value in record.items():
            if key.startswith("train/") and key.endswith("loss"):
                losses.setdefault(key, []).append([record["step"], value])
    rates = [r["train/steps_per_sec"] for r in records if "train/steps_per_sec" in r]
    return {
        "config": name,
        "family": config.family,
        "steps": result.step,
        "batch": config.data.batch_size,
        "wall_seconds": seconds,
        "steps_per_sec": float(np.median(rates[1:] or rates)) if rates else None,
        "losses": losses,
        "eval": {k: v for k, v in result.last_metrics.items() if k.startswith("eval/")},
    }


def draw_losses(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    columns = 4
    lines = math.ceil(len(rows) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(4 * columns, 3 * lines), squeeze=False)
    for ax, row in zip(axes.ravel(), rows, strict=False):
        for key, points in row["losses"].items():
            steps, values = zip(*points, strict=True)
            ax.plot(steps, values, label=key.removeprefix("train/"))
        ax.set_title(row["config"], fontsize=9)
        ax.set_xlabel("step")
        if row["losses"]:
            ax.legend(fontsize=7)
    for ax in axes.ravel()[len(rows) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f} ms"


def render(results: dict) -> str:
    d = results["device"]
    peak = d["peak_bf16_flops"] and d["peak_bf16_flops"] * d["local_devices"]
    lines = [
        "# gensys on an accelerator: the CIFAR-10 check",
        "",
        "; ".join(f"`{command}`" for command in results["commands"])
        + f" on {d['device']} ({d['local_devices']} local device(s), "
        f"backend {d['backend']}, JAX {d['jax']}, Flax {d.get('flax', '?')}; "
        f"host {results['machine']}), "
        f"{results['started']}"
        + (f" (resumed {results['resumed']})" if results.get("resumed") else "")
        + f". Data: {results['data']}."
        + (" Tiny sizes (a CPU smoke run): no figure here is a speed." if results["tiny"] else ""),
        "",
        "## The ddpm_cifar10 training step",
        "",
        f"Peak bfloat16: {peak / 1e12:.0f} TFLOP/s." if peak else "Peak: unknown for this device.",
        "",
        "| dtype | batch | devices | step (median) | at peak | compile | GFLOP a step "
        "| TFLOP/s | of bf16 peak | parameters |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results.get("train_step", []):
        share = f"{r['flops_per_second'] / peak:.0%}" if peak else "-"
        bound = _ms(r["flops"] / peak) if peak else "-"
        lines.append(
            f"| {r['dtype']} | {r['batch']} | {r['devices']} | {_ms(r['median_seconds'])} | "
            f"{bound} | {r['compile_seconds']:.1f} s | {r['flops'] / 1e9:,.0f} | "
            f"{r['flops_per_second'] / 1e12:.1f} | {share} | {r['parameters']:,} |"
        )
    lines += [
        "",
        "`at peak`: the step's FLOPs (the products and convolutions of the forward and "
        "backward passes, counted on its jaxpr by `benchmarks.flop_count`: XLA:GPU's own "
        "count leaves out the library calls) at the devices' bfloat16 peak, the bound no "
        "implementation beats. Target on one "
        "H100/H200: bfloat16 step at most 9 ms and at least 40 % of peak.",
    ]
    lines += [
        "",
        "## Sampling",
        "",
        "| sampler | images | seconds | images/s |",
        "|---|---|---|---|",
    ]
    for r in results.get("sampling", []):
        lines.append(
            f"| {r['sampler']} | {r['images']} | {r['seconds']:.2f} | "
            f"{r['images_per_second']:.1f} |"
        )
    lines += [
        "",
        f"## Every CIFAR-10 config, {results['steps']} steps from scratch",
        "",
        "Loss curves: [gpu_check/losses.png](gpu_check/losses.png).",
        "",
        "| config | batch | steps | steps/s | wall (compile included) | evaluation |",
        "|---|---|---|---|---|---|",
    ]
    for r in results.get("configs", []):
        evaluation = ", ".join(f"{k.removeprefix('eval/')} {v:.4g}" for k, v in r["eval"].items())
        rate = f"{r['steps_per_sec']:.2f}" if r["steps_per_sec"] else "-"
        lines.append(
            f"| {r['config']} | {r['batch']} | {r['steps']} | {rate} | "
            f"{r['wall_seconds']:.0f} s | {evaluation} |"
        )
    if results.get("failed"):
        lines += ["", "Failed (the error of each part; the parts after it ran):", ""]
        lines += [f"- {line}" for line in results["failed"]]
    if results.get("skipped"):
        lines += ["", "Skipped (time budget spent): " + ", ".join(results["skipped"]) + "."]
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    start_runtime(cpu_devices=1)
    f = flags.FLAGS
    run_check(
        CheckSettings(
            data_dir=f["config.data.dir"].value,
            configs=tuple(f.configs),
            steps=f.steps,
            timed_steps=f.timed_steps,
            budget_seconds=f.budget_seconds,
            tiny=f.tiny,
            workdir=f.workdir,
            out=f.out,
            resume=f.resume,
            recount_flops=f.recount_flops,
            command=" ".join(["python -m benchmarks.gpu_check", *sys.argv[1:]]),
        )
    )


def resumed(previous: dict, fresh: dict) -> dict:
    """``fresh`` (this run's header) holding the parts of ``previous`` (an earlier run's
    results); refused when the two differ in device, data, sizes or steps."""
    for key in ("data", "tiny", "steps"):
        if previous.get(key) != fresh[key]:
            raise ValueError(
                f"--resume: the earlier run's {key} was {previous.get(key)!r}, this one's "
                f"{fresh[key]!r}"
            )
    before, now = previous["device"], fresh["device"]
    if (before["device"], before["local_devices"]) != (now["device"], now["local_devices"]):
        raise ValueError(
            f"--resume: the earlier run was on {before['local_devices']} x {before['device']}, "
            f"this one on {now['local_devices']} x {now['device']}"
        )
    merged = dict(fresh, started=previous["started"], resumed=fresh["started"])
    merged["commands"] = [*previous.get("commands", []), *fresh["commands"]]
    for part in ("train_step", "sampling", "configs"):
        merged[part] = list(previous.get(part, []))
    return merged


def run_check(settings: CheckSettings) -> dict:
    """Every part in turn (JAX's runtime already started)."""
    unknown = [name for name in settings.configs if name not in CONFIGS]
    if unknown:
        raise ValueError(f"configs: {unknown} are not among {list(CONFIGS)}")
    began = time.perf_counter()
    out = Path(settings.out)
    tiny = settings.tiny
    scratch = Path(settings.workdir or tempfile.mkdtemp(prefix="gpu_check_"))
    data_dir = settings.data_dir
    if data_dir is None:
        data_dir = str(random_cifar10(scratch / "cifar10", per_batch=8 if tiny else 256))
    command = settings.command or "python -m benchmarks.gpu_check" + (" --tiny" if tiny else "")
    results = {
        "commands": [command],
        "device": device_facts(),
        "machine": machine(),
        "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "data": f"CIFAR-10 files in {settings.data_dir}" if settings.data_dir else "random pixels",
        "tiny": tiny,
        "steps": settings.steps,
        "skipped": [],
        "failed": [],
        "train_step": [],
        "sampling": [],
        "configs": [],
    }
    if settings.recount_flops:
        results = json.loads((out / "gpu_check.json").read_text())
        results.setdefault("failed", [])
        tiny = results["tiny"]
        results["commands"] = [*results.get("commands", []), command]
        for row in results["train_step"]:
            row["flops_source"] = None  # counted again below, and nothing else runs
    elif settings.resume and (out / "gpu_check.json").exists():
        results = resumed(json.loads((out / "gpu_check.json").read_text()), results)

    def save():
        out.mkdir(parents=True, exist_ok=True)
        (out / "gpu_check.json").write_text(json.dumps(results, indent=1))
        (out / "gpu_check.md").write_text(render(results))

    def within_budget(part: str) -> bool:
        if time.perf_counter() - began < settings.budget_seconds:
            return True
        results["skipped"].append(part)
        save()
        return False

    def attempt(part: str, work) -> None:
        """Runs one part; an error is reported with the part's name and the next part
        goes on (one family failing on a new backend must not hide the others)."""
        try:
            work()
        except Exception as error:  # noqa: BLE001 - reported in the results, not hidden
            logging.exception("%s failed", part)
            results["failed"].append(f"{part}: {type(error).__name__}: {error}"[:500])
        save()

    import jax

    batch = 4 if tiny else 128
    devices = jax.local_device_count()
    shared = {"state": None}  # one ddpm_cifar10 state for every dtype and sampler
    for row in results["train_step"]:
        if row.get("flops_source") != FLOPS_SOURCE:
            attempt(f"FLOPs of the {row['dtype']} step", lambda row=row: shared.update(
                state=recount_step_flops(row, data_dir, tiny, shared["state"])))  # fmt: skip
    if settings.recount_flops:
        save()
        return results
    timed = {row["dtype"] for row in results["train_step"]}

    def step_part(dtype: str) -> None:
        timing, shared["state"] = time_train_step(
            data_dir, dtype, batch * devices, tiny, settings.timed_steps, shared["state"]
        )
        results["train_step"].append(timing)
        logging.info("train step %s: %s", dtype, timing)

    for dtype in [d for d in settings.dtypes if d not in timed]:
        if within_budget(f"train step {dtype}"):
            attempt(f"train step {dtype}", lambda dtype=dtype: step_part(dtype))

    def sampling_part(name: str, steps: int) -> None:
        num = 4 if tiny else 256
        results["sampling"].append(time_sampler(data_dir, name, steps, num, tiny, shared["state"]))

    sampled = {row["sampler"] for row in results["sampling"]}
    for name, steps in (("ddim", 50), ("dpmpp_2m", 20)):
        if f"{name} {steps}" in sampled:
            continue
        if within_budget(f"sampling {name}"):
            attempt(f"sampling {name}", lambda n=name, s=steps: sampling_part(n, s))

    def config_part(name: str) -> None:
        row = train_config(name, data_dir, scratch / name, settings.steps, tiny)
        results["configs"].append(row)
        draw_losses(results["configs"], out / "gpu_check" / "losses.png")

    trained = {row["config"] for row in results["configs"]}
    for name in [n for n in settings.configs if n not in trained]:
        if within_budget(name):
            attempt(name, lambda name=name: config_part(name))
    save()
    print((out / "gpu_check.md").read_text())
    return results


if __name__ == "__main__":
    _define_flags()
    app.run(main)
