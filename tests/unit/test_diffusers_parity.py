"""gensys's schedules, spacings and samplers against PyTorch diffusers' schedulers.

The reference (``data/diffusers_reference.npz``) was written in float64 by
``benchmarks/diffusers_reference.py`` in the peer environment (torch and diffusers; see its
docstring for the analytic model and the cases). Here gensys runs the same cases from the
same start and noises: in float32 the results agree to float32 rounding, and under
``jax_enable_x64`` to 1e-10.
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.diffusion import schedules
from gensys.diffusion.sample_loop import make_sampler, make_sampling_grid, sample
from gensys.diffusion.spacing import timestep_spacing

REF = np.load(Path(__file__).parent / "data" / "diffusers_reference.npz")
MU, S = float(REF["mu"]), float(REF["s"])
N = 10

SD = {"steps_offset": 1, "set_alpha_to_one": False}  # Stable Diffusion's DDIM settings
# (gensys grid spacing, its keyword arguments, sampler, its keyword arguments, threshold)
CASES = {
    "ddim_eta0": ("leading", {}, "ddim", {}, None),
    "ddim_eta1": ("leading", {}, "ddim", {"eta": 1.0}, None),
    "ddim_clip_raw_eps": ("leading", SD, "ddim", {"clipped_model_output": False}, "clip"),
    "ddim_clip_clipped_eps": ("leading", SD, "ddim", {"clipped_model_output": True}, "clip"),
    "ddim_sd": ("leading", SD, "ddim", {}, None),
    "dpmpp_2m": ("linspace_skip_zero", {}, "dpmpp_2m", {}, None),
    "dpmpp_3m": ("linspace_skip_zero", {}, "dpmpp_3m", {}, None),
    "euler": ("trailing", {}, "euler", {}, None),
    "heun": ("trailing", {}, "heun", {}, None),
    "ddpm_fixed_small": (None, {}, "ddpm", {"ddpm_variance": "fixed_small"}, None),
    "ddpm_fixed_large": (None, {}, "ddpm", {"ddpm_variance": "fixed_large"}, None),
}
# float32 bounds: the largest absolute difference measured was 1.3e-6 over the 10-step cases
# (samples up to 2.1 in size) and 2.1e-6 after DDPM's 1,000 steps; the bounds leave about
# 4x. In float64 the largest was 3.8e-14 (DDPM), 1.1e-15 for the others: the bound is 1e-10.
FLOAT32_ATOL = {"ddpm_fixed_small": 1e-5, "ddpm_fixed_large": 1e-5}


def analytic_eps(schedule):
    """eps*(x_t, t) of data N(MU, S^2 I), the reference's model, at integer ``t``."""

    def model(x, t):
        ab = schedule.alpha_bars[t].reshape(-1, *([1] * (x.ndim - 1)))
        return jnp.sqrt(1 - ab) * (x - jnp.sqrt(ab) * MU) / (ab * S**2 + (1 - ab))

    return model


def expected(name):
    return REF[f"{name}/final"] if f"{name}/final" in REF else REF[f"{name}/path"][-1]


def run_case(name):
    spacing, grid_kwargs, sampler_name, sampler_kwargs, threshold = CASES[name]
    schedule = schedules.linear_schedule(1000)
    num_steps = None if spacing is None else N
    grid = make_sampling_grid(schedule, num_steps, spacing or "leading", **grid_kwargs)
    sampler = make_sampler(sampler_name, **sampler_kwargs)
    dtype = schedules.float_dtype()
    noises = jnp.asarray(REF["noises"][: grid.num_steps], dtype) if sampler.stochastic else None
    clip = (lambda x0: jnp.clip(x0, -1.0, 1.0)) if threshold == "clip" else None
    run = jax.jit(
        lambda x, z: sample(None, sampler, grid, analytic_eps(schedule), x.shape,
                            parameterization="eps", threshold=clip, x_init=x, noises=z)
    )  # fmt: skip
    return grid, np.asarray(run(jnp.asarray(REF["x_start"], dtype), noises))


@pytest.mark.parametrize("name", ["linear", "scaled_linear", "cosine"])
def test_schedules_match_diffusers(name):
    reference = REF[f"alphas_cumprod/{'squaredcos_cap_v2' if name == 'cosine' else name}"]
    with jax.enable_x64(True):
        ours = np.asarray(schedules.make_schedule(name, 1000).alpha_bars)
        assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("n", [10, 20, 50])
def test_spacings_match_diffusers(n):
    for kind in ("leading", "trailing", "linspace"):
        np.testing.assert_array_equal(
            timestep_spacing(1000, n, kind), REF[f"spacing/ddim/{kind}/{n}"], err_msg=kind
        )
    np.testing.assert_array_equal(
        timestep_spacing(1000, n, "leading", steps_offset=1),
        REF[f"spacing/ddim/leading_offset1/{n}"],
    )
    np.testing.assert_array_equal(
        timestep_spacing(1000, n, "linspace_skip_zero"), REF[f"spacing/dpmsolver/linspace/{n}"]
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_samplers_match_diffusers_in_float32(name):
    grid, ours = run_case(name)
    assert ours.dtype == np.float32
    if f"{name}/timesteps" in REF:  # the model was called at diffusers' timesteps
        visited = np.unique(REF[f"{name}/timesteps"])[::-1]
        np.testing.assert_array_equal(np.asarray(grid.t[:-1]), visited)
    np.testing.assert_allclose(ours, expected(name), rtol=0, atol=FLOAT32_ATOL.get(name, 5e-6))


@pytest.mark.parametrize("name", sorted(CASES))
def test_samplers_match_diffusers_in_float64(name):
    with jax.enable_x64(True):
        grid, ours = run_case(name)
        assert ours.dtype == np.float64 and grid.alpha.dtype == jnp.float64
    np.testing.assert_allclose(ours, expected(name), rtol=0, atol=1e-10)


def test_the_cases_tell_the_conventions_apart():
    # Each option changes the sample by far more than the parity bounds, so a gensys that
    # took the other convention would fail above.
    pairs = [("ddim_clip_raw_eps", "ddim_clip_clipped_eps"), ("ddim_eta0", "ddim_sd"),
             ("ddpm_fixed_small", "ddpm_fixed_large")]  # fmt: skip
    for a, b in pairs:
        assert np.max(np.abs(expected(a) - expected(b))) > 1e-3, (a, b)
    # DPM-Solver++ on gensys's "linspace" (last model call at t = 0) is not diffusers' grid.
    schedule = schedules.linear_schedule(1000)
    grid = make_sampling_grid(schedule, N, "linspace")
    x = sample(None, make_sampler("dpmpp_2m"), grid, analytic_eps(schedule), REF["x_start"].shape,
               parameterization="eps", x_init=jnp.asarray(REF["x_start"], jnp.float32))  # fmt: skip
    assert np.max(np.abs(np.asarray(x) - expected("dpmpp_2m"))) > 1e-3
