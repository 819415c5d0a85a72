"""EDM and flow matching on digits: sample quality against model evaluations for each
sampler, and flow matching's exact NLL by its ODE.

    python -m benchmarks.edm_flow_matching [--nfe=5,10,20,50] [--nll_steps=32]

Trains ``experiments/configs/edm_digits.py`` and ``flow_matching_digits.py`` in
``<workdir>/<config>`` (a run that already ended is used as it is), then draws as many
samples as there are held-out test digits (297) with each sampler at each budget of model
evaluations (NFE) and scores them with the evaluation suite (:mod:`gensys.eval.
sample_quality` under the digits feature network, against the 1,500 training digits: FD,
KID, precision, recall) beside the real floor (the 297 test digits themselves).

Samplers: EDM's Algorithm 2 Heun (``edm_heun``, ``2 N - 1`` evaluations for ``N`` steps)
and, on the same EDM levels, gensys's DPM-Solver++ 2M and Euler (``gd.sample``, ``N``);
flow matching's own ODE integrators (``ode_heun``, ``ode_euler``, :func:`gensys.diffusion.
flow_matching.sample_ode`) and DPM-Solver++ 2M on the straight path. Flow matching's NLL of
the 297 test digits is its ODE's (``--nll_divergence``: Hutchinson's estimate by default, the
exact trace costing 64 backward passes an evaluation), ``--nll_steps`` Heun steps,
dequantized to the 17 levels. Results: ``benchmarks/results/edm_flow_matching.{json,md}``
and a grid per sampler at the largest budget.
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

from absl import app, flags, logging

from benchmarks.common import experiment_config, start_runtime

_WORKDIR = flags.DEFINE_string("workdir", "runs", "Runs go to <workdir>/<config>.")
_NFE = flags.DEFINE_list("nfe", ["5", "10", "20", "50"], "Budgets of model evaluations.")
_NLL_STEPS = flags.DEFINE_integer("nll_steps", 32, "Heun steps of the likelihood ODE.")
_NLL_DIVERGENCE = flags.DEFINE_enum(
    "nll_divergence",
    "hutchinson",
    ["hutchinson", "exact"],
    "The ODE's divergence: exact costs 64 backward passes an evaluation on the digits.",
)
_OUT = flags.DEFINE_string("out", "benchmarks/results", "Where results and grids go.")
_CPU_DEVICES = flags.DEFINE_integer("cpu_devices", 2, "XLA host devices on CPU.")
_OVERRIDES = flags.DEFINE_list("override", [], "key=value overrides of both configs.")

CONFIGS = ("edm_digits", "flow_matching_digits")


def trained(name: str):
    """``(config, params)``: the EMA parameters of the run of ``name``, trained if needed."""
    from benchmarks.common import ended
    from gensys.recipes import recipe_for
    from gensys.train import loop
    from gensys.train.config import ExperimentConfig
    from gensys.typed_config import from_mapping

    raw = experiment_config(name, overrides=_OVERRIDES.value)
    raw.train.progress_bar = False
    config = from_mapping(ExperimentConfig, raw)
    workdir = Path(_WORKDIR.value) / name
    if not ended(workdir):
        loop.train(config, workdir, recipe_for(config))
    step, state, _ = loop.load_latest(config, workdir, recipe_for(config))
    return config, step, state.model.ema_params


def samplers_of(name: str, config, params):
    """``{sampler: (nfe -> draw(key, num))}`` for the family of ``name``."""
    import jax.numpy as jnp

    from gensys import diffusion as gd
    from gensys.diffusion import edm, flow_matching
    from gensys.recipes.edm import EDMConfig
    from gensys.recipes.flow_matching import FlowMatchingConfig
    from gensys.recipes.unet_regression import make_unet
    from gensys.typed_config import from_mapping

    shape = (8, 8, 1)
    if name == "edm_digits":
        model = from_mapping(EDMConfig, config.model)
        net = make_unet(model)
        denoiser = edm.make_denoiser(
            lambda x, c: net.apply(params, x, c * model.noise_scale), model.sigma_data
        )

        def algorithm2(nfe):
            return lambda key, num: edm.edm_sample(denoiser, key, (num, *shape),
                                                   num_steps=(nfe + 1) // 2)  # fmt: skip

        def on_levels(sampler):
            def make(nfe):
                grid = edm.sampling_grid(nfe)
                return lambda key, num: gd.sample(
                    key, gd.make_sampler(sampler), grid, denoiser, (num, *shape),
                    parameterization="x0", x_init=80.0 * jax_normal(key, (num, *shape)),
                )  # fmt: skip

            return make

        return {"edm_heun": algorithm2, "dpmpp_2m": on_levels("dpmpp_2m"),
                "euler": on_levels("euler")}  # fmt: skip
    model = from_mapping(FlowMatchingConfig, config.model)
    net = make_unet(model)

    def velocity(x, t):
        return net.apply(params, x, t * model.time_scale)

    def ode(method):
        def make(nfe):
            steps = (nfe + 1) // 2 if method == "heun" else nfe
            return lambda key, num: flow_matching.sample_ode(
                velocity, jax_normal(key, (num, *shape)), num_steps=steps, method=method
            )

        return make

    def dpm(nfe):
        grid = flow_matching.sampling_grid(nfe)
        data = flow_matching.velocity_as_data_prediction(velocity)
        return lambda key, num: gd.sample(
            key, gd.make_sampler("dpmpp_2m"), grid, data, (num, *shape), parameterization="x0",
            x_init=jax_normal(key, (num, *shape)),
        )  # fmt: skip

    del jnp
    return {"ode_heun": ode("heun"), "ode_euler": ode("euler"), "dpmpp_2m": dpm}


def jax_normal(key, shape):
    import jax

    return jax.random.normal(jax.random.fold_in(key, 7), shape)


def main(argv):
    del argv
    start_runtime(_CPU_DEVICES.value)

    import jax
    import numpy as np

    from gensys.data.datasets import load_split
    from gensys.diffusion import flow_matching
    from gensys.diffusion.ode_likelihood import dequantized_nll_nats
    from gensys.eval.digits_classifier import as_float_images
    from gensys.eval.feature_nets import load_feature_net
    from gensys.eval.grids import save_grid
    from gensys.eval.sample_quality import ReferenceSet
    from gensys.recipes.flow_matching import FlowMatchingConfig
    from gensys.recipes.unet_regression import make_unet
    from gensys.typed_config import from_mapping

    out = Path(_OUT.value)
    (out / "edm_flow_matching").mkdir(parents=True, exist_ok=True)
    train = np.asarray(as_float_images(load_split("digits", "train")))
    test_split = load_split("digits", "test")
    test = np.asarray(as_float_images(test_split))
    net = load_feature_net("digits", create=True)
    reference = ReferenceSet(net, train)

    def scores(images):
        q = reference.score(images, key=jax.random.key(7), kid_subset_size=len(test))
        return {k: float(getattr(q, k)) for k in ("frechet", "kid", "precision", "recall")}

    floor = scores(test)
    rows, nll = [], {}
    budgets = [int(v) for v in _NFE.value]
    for name in CONFIGS:
        config, step, params = trained(name)
        for sampler, make in samplers_of(name, config, params).items():
            for nfe in budgets:
                draw = jax.jit(make(nfe), static_argnums=1)
                start = time.perf_counter()
                samples = np.asarray(jax.block_until_ready(draw(jax.random.key(nfe), len(test))))
                seconds = time.perf_counter() - start
                samples = np.clip(samples, -1.0, 1.0)
                row = {"config": name, "steps": step, "sampler": sampler, "nfe": nfe,
                       "seconds_with_compile": seconds, **scores(samples)}  # fmt: skip
                rows.append(row)
                logging.info("%s", row)
                if nfe == budgets[-1]:
                    save_grid(samples[:100], out / "edm_flow_matching" / f"{name}_{sampler}.png",
                              columns=10)  # fmt: skip
        if name == "flow_matching_digits":
            model = from_mapping(FlowMatchingConfig, config.model)
            unet = make_unet(model)

            def velocity(x, t, unet=unet, model=model, params=params):
                return unet.apply(params, x, t * model.time_scale)

            def log_density(y, key):
                return flow_matching.flow_log_density(
                    velocity, y, num_steps=_NLL_STEPS.value,
                    divergence_kind=_NLL_DIVERGENCE.value, key=key,
                )  # fmt: skip

            start = time.perf_counter()
            result = jax.jit(lambda x: dequantized_nll_nats(
                jax.random.key(3), log_density, x, num_levels=17))(test)  # fmt: skip
            nll = {"config": name, "nll_nats": float(np.mean(result["nll_nats"])),
                   "bpd": float(np.mean(result["bpd"])), "ode_steps": _NLL_STEPS.value,
                   "divergence": _NLL_DIVERGENCE.value,
                   "seconds": time.perf_counter() - start}  # fmt: skip
            logging.info("%s", nll)

    lines = [
        "| config | train steps | sampler | NFE | FD | KID | precision | recall |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {r['config']} | {r['steps']:,} | {r['sampler']} | {r['nfe']} | {r['frechet']:.2f} | "
          f"{r['kid']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} |" for r in rows),
        f"| real test digits (the floor) | | | | {floor['frechet']:.2f} | {floor['kid']:.2f} | "
        f"{floor['precision']:.3f} | {floor['recall']:.3f} |",
    ]  # fmt: skip
    nll_line = (
        f"\nFlow matching's NLL of the 297 test digits by its ODE ({nll['divergence']} "
        f"divergence, one probe an image; {nll['ode_steps']} Heun steps; uniform dequantization "
        f"to the 17 levels): "
        f"**{nll['nll_nats']:.2f} nats ({nll['bpd']:.3f} bits/dim)**, {nll['seconds']:.0f} s. "
        "For comparison, `benchmarks/results/compare_digits.md` measured DDPM's variational "
        "bound at 131.80 nats and RealNVP's dequantized NLL at 88.24 on the same images "
        "(other runs, other budgets).\n"
        if nll
        else ""
    )
    header = (
        f"# EDM and flow matching on digits\n\n`python -m benchmarks.edm_flow_matching "
        f"--nfe={','.join(_NFE.value)} --nll_steps={_NLL_STEPS.value} "
        f"--nll_divergence={_NLL_DIVERGENCE.value}` on "
        f"{platform.machine()}, jax {jax.__version__}, {jax.device_count()} devices. Each "
        f"sampler draws {len(test)} samples, scored by the digits feature network against the "
        f"1,500 training digits (FD not FID; KID unbiased, so near 0 for real data); the "
        f"floor row scores the 297 test digits. Grids at NFE {budgets[-1]}: "
        f"`benchmarks/results/edm_flow_matching/<config>_<sampler>.png`.\n\n"
    )
    text = header + "\n".join(lines) + "\n" + nll_line
    (out / "edm_flow_matching.md").write_text(text)
    (out / "edm_flow_matching.json").write_text(
        json.dumps({"floor": floor, "rows": rows, "nll": nll}, indent=1) + "\n"
    )
    print(text)


if __name__ == "__main__":
    app.run(main)
