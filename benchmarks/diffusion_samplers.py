"""Sample quality against model evaluations for every diffusion sampler, on digits.

    python -m benchmarks.diffusion_samplers --workdir=runs/ddpm_digits

Loads the latest checkpoint of a DDPM trained with
``experiments/configs/ddpm_digits.py`` (``make demo``), draws ``--num_samples``
samples with each sampler at each budget of model evaluations (NFE), and scores
them by the Frechet distance between hidden features of a small digits
classifier (:mod:`gensys.eval.digits_classifier`) on the samples and on the
1,500 training digits: a "digits FD", not FID (an Inception network means little on
8x8 digits). The real-data floor is the FD
of the 297 held-out test digits against the same training statistics.

Throughput is samples per second of the compiled sampler (compile time is
reported separately), on whatever devices JAX sees. Results go to
``benchmarks/results/diffusion_samplers.{json,md}`` and one PNG grid per run.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from absl import app, flags, logging

from benchmarks.common import start_runtime

_WORKDIR = flags.DEFINE_string("workdir", "runs/ddpm_digits", "Run directory of ddpm_digits.")
_NUM = flags.DEFINE_integer("num_samples", 512, "Samples per (sampler, NFE).")
_NFE = flags.DEFINE_list("nfe", ["10", "20", "50", "100"], "Budgets of model evaluations.")
_FULL = flags.DEFINE_list(
    "full_chain_samplers", ["ddpm", "ddim"], "Samplers also run on all 1000 steps."
)
_SAMPLERS = flags.DEFINE_list(
    "samplers", ["ddpm", "ddim", "dpmpp_2m", "dpmpp_3m", "dpmpp_2m_sde", "euler", "heun"], ""
)
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and grids go.")
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", 2, "XLA host devices when running on CPU.")
_REPEATS = flags.DEFINE_integer(
    "repeats", 5, "Seeds of DDPM at 100 NFE, to measure the spread of the score itself."
)


def steps_for(name: str, nfe: int) -> int:
    """Heun calls the model twice a step except into sigma = 0: 2N - 1 evaluations."""
    return (nfe + 1) // 2 if name == "heun" else nfe


def main(argv):
    del argv
    start_runtime(_CPU_DEVICES.value)

    import jax
    import numpy as np

    from experiments.configs.ddpm_digits import get_config
    from gensys.data.datasets import get_spec, load_split
    from gensys.diffusion import model_evaluations
    from gensys.diffusion.sample_loop import make_sampler, make_sampling_grid
    from gensys.diffusion.schedules import make_schedule
    from gensys.eval.digits_classifier import as_float_images, train_digits_classifier
    from gensys.eval.frechet import frechet_distance, gaussian_statistics
    from gensys.eval.grids import save_grid
    from gensys.recipes import recipe_for
    from gensys.recipes.diffusion import DEFAULT_SPACING
    from gensys.recipes.registry import build_recipe
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig
    from gensys.train.sharding import make_mesh
    from gensys.typed_config import from_mapping

    out = Path(_OUT.value)
    (out / "diffusion_samplers").mkdir(parents=True, exist_ok=True)
    config = from_mapping(ExperimentConfig, get_config())
    step, state, engine = loop.load_latest(config, _WORKDIR.value, recipe_for(config))
    train, test = load_split("digits", "train"), load_split("digits", "test")
    classifier = train_digits_classifier(train, test)
    reference = gaussian_statistics(classifier.features(as_float_images(train)))
    floor = frechet_distance(
        *gaussian_statistics(classifier.features(as_float_images(test))), *reference
    )
    logging.info("classifier accuracy %.4f; FD(test) = %.2f", classifier.test_accuracy, floor)

    mesh = make_mesh()
    data_sharding = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
    schedule = make_schedule("linear", 1000)
    key = jax.random.key(2024)
    rows = []
    budgets = [(name, int(n)) for name in _SAMPLERS.value for n in _NFE.value]
    budgets += [(name, 1000) for name in _FULL.value]

    def draw(name: str, nfe: int, key):
        """Samples of one (sampler, NFE) and the timings of its compiled sampler."""
        num_steps = steps_for(name, nfe)
        sampler = {**config.sampler, "name": name, "num_steps": num_steps, "eta": 0.0}
        recipe = build_recipe("ddpm", config.model, get_spec("digits"), sampler)
        grid = make_sampling_grid(schedule, num_steps, DEFAULT_SPACING[name])
        fn = jax.jit(recipe.sample, static_argnums=2, out_shardings=data_sharding)
        tick = time.perf_counter()
        compiled = fn.lower(state.model, key, _NUM.value).compile()
        compile_s = time.perf_counter() - tick
        tick = time.perf_counter()
        images = np.asarray(jax.device_get(compiled(state.model, key)))
        run_s = time.perf_counter() - tick
        nfe = model_evaluations(make_sampler(name), grid)
        return images, dict(steps=num_steps, nfe=nfe, run_s=run_s, compile_s=compile_s)

    def score(images) -> float:
        return frechet_distance(*gaussian_statistics(classifier.features(images)), *reference)

    for name, nfe in budgets:
        images, info = draw(name, nfe, key)
        grid_path = out / "diffusion_samplers" / f"{name}_nfe{info['nfe']:04d}.png"
        save_grid(images[:64], grid_path)
        row = dict(
            sampler=name,
            spacing=DEFAULT_SPACING[name],
            steps=info["steps"],
            nfe=info["nfe"],
            digits_fd=round(score(images), 3),
            samples_per_sec=round(_NUM.value / info["run_s"], 2),
            compile_s=round(info["compile_s"], 1),
            grid=str(grid_path),
        )
        logging.info("%s", row)
        rows.append(row)

    # How much the score moves with the seed alone, and at the test set's size (297).
    full, at_test_size = [], []
    for seed in range(_REPEATS.value):
        images, _ = draw("ddpm", 100, jax.random.fold_in(key, seed + 1))
        full.append(score(images))
        at_test_size.append(score(images[:297]))
    spread = dict(
        config="ddpm, 100 NFE, leading",
        seeds=_REPEATS.value,
        fd_mean=round(float(np.mean(full)), 3),
        fd_std=round(float(np.std(full, ddof=1)), 3),
        fd_297_mean=round(float(np.mean(at_test_size)), 3),
        fd_297_std=round(float(np.std(at_test_size, ddof=1)), 3),
    )
    logging.info("score spread: %s", spread)

    result = dict(
        command=f"python -m benchmarks.diffusion_samplers --workdir={_WORKDIR.value} "
        f"--num_samples={_NUM.value} --nfe={','.join(_NFE.value)} "
        f"--samplers={','.join(_SAMPLERS.value)} "
        f"--full_chain_samplers={','.join(_FULL.value)}",
        checkpoint_step=step,
        num_samples=_NUM.value,
        score="Frechet distance of 64-d hidden features of a digits MLP classifier "
        "(samples vs the 1,500 training digits); not FID",
        classifier_test_accuracy=round(classifier.test_accuracy, 4),
        real_test_digits_fd=round(floor, 3),
        devices=[str(d) for d in jax.devices()],
        machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
        rows=rows,
        score_spread=spread,
    )
    (out / "diffusion_samplers.json").write_text(json.dumps(result, indent=1) + "\n")
    (out / "diffusion_samplers.md").write_text(_markdown(result))
    print(_markdown(result))


def _markdown(result: dict) -> str:
    lines = [
        "# Diffusion samplers on digits: quality against model evaluations",
        "",
        f"`{result['command']}` (checkpoint step {result['checkpoint_step']}, "
        f"{result['num_samples']} samples per row, devices {result['devices']}).",
        "",
        f"Score: {result['score']}. Lower is better. Real held-out test digits score "
        f"{result['real_test_digits_fd']} (297 images; the estimate is biased upwards, the "
        "more so the fewer the images); classifier test accuracy "
        f"{result['classifier_test_accuracy']}.",
        "",
        f"How noisy the score is: DDPM at 100 NFE over {result['score_spread']['seeds']} seeds "
        f"scores {result['score_spread']['fd_mean']} +- {result['score_spread']['fd_std']} "
        f"(standard deviation) with {result['num_samples']} samples, and "
        f"{result['score_spread']['fd_297_mean']} +- {result['score_spread']['fd_297_std']} "
        "on their first 297, the size of the real test set. Differences within about two "
        "standard deviations are not evidence of a better sampler.",
        "",
        "samples/s: the compiled sampler alone, 512 samples sharded over the devices. "
        "compile s: lowering and compiling it, served from the persistent compilation "
        "cache where an earlier run had compiled the same program.",
        "",
        "| sampler | spacing | steps | NFE | digits FD | samples/s | compile s | grid |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['sampler']} | {r['spacing']} | {r['steps']} | {r['nfe']} | {r['digits_fd']} "
            f"| {r['samples_per_sec']} | {r['compile_s']} | [png]({_relative(r['grid'])}) |"
        )
    return "\n".join(lines) + "\n"


def _relative(path: str) -> str:
    return f"{Path(path).parent.name}/{Path(path).name}"


def rewrite_markdown(json_path: str = "benchmarks/results/diffusion_samplers.json") -> None:
    """Regenerates the table from the committed JSON (no sampling)."""
    path = Path(json_path)
    path.with_suffix(".md").write_text(_markdown(json.loads(path.read_text())))


if __name__ == "__main__":
    app.run(main)
