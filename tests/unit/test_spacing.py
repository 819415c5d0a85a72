"""Timestep spacings (../shared/ANCHORS.md) and respaced schedules."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.diffusion import ddpm_ddim, process, schedules, spacing

ANCHORS = {
    "leading": [900, 800, 700, 600, 500, 400, 300, 200, 100, 0],
    "trailing": [999, 899, 799, 699, 599, 499, 399, 299, 199, 99],
    "linspace": [999, 888, 777, 666, 555, 444, 333, 222, 111, 0],
    # diffusers' multistep schedulers (DPMSolverMultistepScheduler, timestep_spacing="linspace")
    "linspace_skip_zero": [999, 899, 799, 699, 599, 500, 400, 300, 200, 100],
}


@pytest.mark.parametrize("kind", sorted(ANCHORS))
def test_spacings_match_anchors(kind):
    got = spacing.timestep_spacing(1000, 10, kind)
    assert got.dtype == np.int32
    assert got.tolist() == ANCHORS[kind]


@pytest.mark.parametrize("kind", spacing.SPACINGS)
@pytest.mark.parametrize("n", [1, 7, 50, 1000])
def test_spacings_are_distinct_descending_and_in_range(kind, n):
    if kind == "linspace_skip_zero" and n == 1000:  # 1,001 points rounded onto 1,000 steps
        with pytest.raises(ValueError, match="repeats a step"):
            spacing.timestep_spacing(1000, n, kind)
        return
    got = spacing.timestep_spacing(1000, n, kind)
    assert len(got) == n and np.all(np.diff(got) < 0) and got.min() >= 0 and got.max() < 1000


def test_spacing_errors():
    with pytest.raises(ValueError, match="kind must be one of"):
        spacing.timestep_spacing(1000, 10, "uniform")
    with pytest.raises(ValueError, match=r"num_steps must be in \[1, 1000\], got 0"):
        spacing.timestep_spacing(1000, 0)
    with pytest.raises(ValueError, match="steps_offset applies to the leading spacing only"):
        spacing.timestep_spacing(1000, 10, "trailing", steps_offset=1)
    with pytest.raises(ValueError, match="beyond the 1000 training steps"):
        spacing.timestep_spacing(1000, 10, "leading", steps_offset=100)


def test_leading_spacing_with_an_offset_is_stable_diffusions():
    # diffusers' DDIMScheduler with steps_offset=1, as Stable Diffusion's configs set it.
    got = spacing.timestep_spacing(1000, 10, "leading", steps_offset=1)
    assert got.tolist() == [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]


def test_respace_keeps_alpha_bar_at_the_chosen_steps():
    full = schedules.linear_schedule(1000)
    steps = spacing.timestep_spacing(1000, 10, "trailing")
    short = spacing.respace(full, steps)
    assert short.num_timesteps == 10
    np.testing.assert_allclose(
        short.alpha_bars, np.asarray(full.alpha_bars)[np.sort(steps)], rtol=1e-5
    )
    same = spacing.respace(full, np.arange(1000))
    np.testing.assert_allclose(same.betas, full.betas, rtol=1e-4)
    with pytest.raises(ValueError, match=r"timesteps must be in \[0, 1000\)"):
        spacing.respace(full, np.array([5, 1000]))
    with pytest.raises(ValueError, match="distinct"):
        spacing.respace(full, np.array([5, 5]))


def test_ddpm_on_a_subsequence_calls_the_model_with_original_steps():
    # The oracle is only right when it sees the original timestep at that step's noise level.
    full = schedules.linear_schedule(1000)
    target = jnp.linspace(-0.7, 0.7, 16).reshape(1, 4, 4, 1)

    def oracle(x, t):
        return process.predict_eps_from_x0(full, x, t, jnp.broadcast_to(target, x.shape))

    steps = spacing.timestep_spacing(1000, 25, "trailing")
    out = jax.jit(lambda k: ddpm_ddim.ddpm_sample(k, full, oracle, (2, 4, 4, 1), timesteps=steps))(
        jax.random.key(0)
    )
    np.testing.assert_allclose(out, jnp.broadcast_to(target, out.shape), atol=1e-4)
