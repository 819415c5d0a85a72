"""Normalizing flows: test NLL on the 2-D toys beside their entropy floors, bits/dim on
digits and on MNIST, with training wall times and sampling speed.

    python -m benchmarks.flows [--configs=realnvp_moons,...] [--steps=glow_mnist=3000,...]
        [--override=glow_mnist:model.hidden=64,...]

Trains each ``experiments/configs/<name>.py`` from scratch (in ``--workdir``) for its
configured steps or the ``--steps`` override, then reads the run's final evaluation:
``eval/nll_nats`` (toys: exact ``-log p`` of the 10,000 test points; images: the uniform
dequantization bound, every Jacobian counted) and ``eval/bpd``. Sampling speed is the
median of 5 timed calls of the jitted sampler for ``--num_samples`` samples after one
warm-up call. Results go to ``benchmarks/results/flows.{json,md}`` with each run's
samples and figures (toys: learned density beside the true one; images: rows of samples
at temperatures 0, 0.5, 0.7, 0.85, 1) in ``benchmarks/results/flows/``.
"""

from __future__ import annotations

from pathlib import Path

from absl import app, flags, logging

from benchmarks.common import (
    copy_final_pictures,
    load_runs,
    machine,
    median_seconds,
    overrides_of,
    picture_prefix,
    run_key,
    save_runs,
    start_runtime,
    train_from_scratch,
)

DEFAULT_CONFIGS = [
    "realnvp_moons",
    "realnvp_gaussians8",
    "realnvp_checkerboard",
    "realnvp_digits",
    "glow_digits",
    "glow_mnist",
]
# Published bits/dim on MNIST (trained on 60,000 images, evaluated on the test set).
LITERATURE = {"realnvp_mnist": 1.06, "glow_mnist": 1.05}

_CONFIGS = flags.DEFINE_list("configs", DEFAULT_CONFIGS, "Configs to train and evaluate.")
_STEPS = flags.DEFINE_list("steps", [], "Step overrides as config=steps.")
_OVERRIDES = flags.DEFINE_list(
    "override",
    [],
    "Field overrides of one config as config:key=value, e.g. glow_mnist:model.hidden=64.",
)
_NUM_SAMPLES = flags.DEFINE_integer("num_samples", 1000, "Samples per timed sampler call.")
_RENDER_ONLY = flags.DEFINE_bool(
    "render_only", False, "Rewrite flows.md from flows.json without training."
)
_WORKDIR = flags.DEFINE_string("workdir", "runs/flows", "Where the runs are trained.")
_CPU_DEVICES = flags.DEFINE_integer(
    "cpu_devices", 2, "XLA host devices on CPU (1 when the run is pinned to one core)."
)
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and pictures go.")


def main(argv):
    del argv
    start_runtime(_CPU_DEVICES.value)

    import jax

    from gensys.data import toy2d
    from gensys.data.datasets import get_spec
    from gensys.recipes import recipe_for
    from gensys.train import loop

    out = Path(_OUT.value)
    (out / "flows").mkdir(parents=True, exist_ok=True)
    steps = dict(item.split("=") for item in _STEPS.value)
    results_path = out / "flows.json"
    runs = load_runs(results_path)

    for name in [] if _RENDER_ONLY.value else _CONFIGS.value:
        overrides = overrides_of(name, _OVERRIDES.value)
        workdir = Path(_WORKDIR.value) / name
        config, result, seconds = train_from_scratch(
            name, workdir, num_steps=steps.get(name), overrides=overrides
        )
        _, state, engine = loop.load_latest(config, workdir, recipe_for(config))
        sample_seconds = median_seconds(
            lambda i, engine=engine, state=state: engine.sample(
                state, jax.random.fold_in(jax.random.key(0), i), _NUM_SAMPLES.value
            )
        )
        params = sum(x.size for x in jax.tree.leaves(state.model.params))
        spec = get_spec(config.data.name)
        m = result.last_metrics
        run = {
            "config": name,
            "dataset": config.data.name,
            "train_split": config.data.split,
            "eval_split": config.eval.split,
            "steps": result.step,
            "batch_size": config.data.batch_size,
            "parameters": int(params),
            "nll_nats": m["eval/nll_nats"],
            "bpd": m["eval/bpd"],
            "train_seconds": seconds,
            "samples_per_second": _NUM_SAMPLES.value / sample_seconds,
            "overrides": overrides,
            "cpu_devices": _CPU_DEVICES.value,
            "entropy_floor": toy2d.ENTROPIES.get(spec.builder) if spec.num_levels == 0 else None,
        }
        runs[run_key(run)] = run
        logging.info("%s", run)
        copy_final_pictures(workdir, result.step, out / "flows", picture_prefix(name, overrides))
        save_runs(results_path, runs)

    table = render(list(runs.values()), machine())
    (out / "flows.md").write_text(table)
    print(table)


def floor_on_test_points(dataset: str) -> float:
    """The true density's mean NLL on the same 10,000 test points the models are scored on
    (the entropy up to the sampling noise of those points)."""
    from gensys.data import toy2d
    from gensys.data.datasets import load_split

    points = load_split(dataset, "test").images.reshape(-1, 2).astype("float64")
    return float(-toy2d.LOG_DENSITIES[dataset](points).mean())


def devices_note(run: dict) -> list[str]:
    """``["1 host device"]`` for a run not on the default 2 host devices."""
    devices = run.get("cpu_devices", 2)
    return [] if devices == 2 else [f"{devices} host device{'s' if devices > 1 else ''}"]


def render(runs: list[dict], machine: str) -> str:
    toys = [r for r in runs if r["entropy_floor"] is not None]
    images = [r for r in runs if r["entropy_floor"] is None]
    lines = [
        "# Normalizing flows: likelihoods, wall times and sampling speed",
        "",
        f"`python -m benchmarks.flows` on {machine} (2 host devices unless a row says "
        "otherwise); every run trained from scratch. Sampling: samples per second of the "
        "jitted sampler, median of 5 calls.",
        "",
    ]
    if toys:
        lines += [
            "## 2-D toy densities: exact test NLL (10,000 test points) beside the entropy",
            "",
            "| config | steps | test NLL (nats) | entropy | true density on the test points "
            "| gap to it | params | train s | samples/s |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for r in toys:
            floor = floor_on_test_points(r["dataset"])
            notes = [*r.get("overrides", []), *devices_note(r)]
            changed = f" ({', '.join(notes)})" if notes else ""
            lines.append(
                f"| {r['config']}{changed} | {r['steps']} | {r['nll_nats']:.3f} | "
                f"{r['entropy_floor']:.3f} | {floor:.3f} | {r['nll_nats'] - floor:+.3f} | "
                f"{r['parameters']:,} | {r['train_seconds']:.0f} | "
                f"{r['samples_per_second']:,.0f} |"
            )
        lines += [
            "",
            "Goal: within 0.05 nats of the floor. The floor that applies to a finite test set "
            "is the true density's own NLL on those points (the entropy up to their sampling "
            "noise, about 0.01 nats for 10,000 points). Pictures: `flows/<config>_density.png` "
            "(learned | true) and `flows/<config>_step.png` (samples).",
            "",
        ]
    if images:
        lines += [
            "## Images: bits/dim (uniform dequantization bound)",
            "",
            "| config | data (train / eval) | steps | batch | test NLL (nats) | bits/dim "
            "| literature | params | train s | samples/s |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in images:
            literature = LITERATURE.get(r["config"].split("_")[0] + "_" + r["dataset"][:5])
            lit = f"{literature:.2f} (60k train)" if literature else "-"
            notes = [*r.get("overrides", []), *devices_note(r)]
            changed = f" ({', '.join(notes)})" if notes else ""
            lines.append(
                f"| {r['config']}{changed} | "
                f"{r['dataset']} {r['train_split']} / {r['eval_split']} | "
                f"{r['steps']} | {r['batch_size']} | {r['nll_nats']:.2f} | {r['bpd']:.3f} | "
                f"{lit} | {r['parameters']:,} | {r['train_seconds']:.0f} | "
                f"{r['samples_per_second']:,.0f} |"
            )
        lines += [
            "",
            "Digits baselines (../shared/ANCHORS.md, bits/dim): uniform 4.09, independent "
            "pixels 2.40, autoregressive logistic regression 2.05. Pictures: "
            "`flows/<config>_temperatures.png` (rows T = 0, 0.5, 0.7, 0.85, 1) and "
            "`flows/<config>_step.png` (samples at T = 1).",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    app.run(main)
