"""Karras grids, the sampler config path, and x0 thresholds."""

import jax.numpy as jnp
import numpy as np
import pytest

from gensys.diffusion import (
    dynamic_threshold,
    karras_grid,
    karras_sigmas,
    make_sampling_grid,
    make_threshold,
    schedules,
    step_orders,
)
from gensys.diffusion.grid import discrete_grid
from gensys.diffusion.sample_loop import make_sampler, sample

S = schedules.linear_schedule(1000)
AB = np.cumprod(1 - np.asarray(S.betas, np.float64))
SIGMA_VE = np.sqrt((1 - AB) / AB)


def test_karras_sigmas_formula():
    s = karras_sigmas(5, 0.01, 80.0, rho=7.0)
    ramp = np.linspace(0, 1, 5)
    want = (80 ** (1 / 7) + ramp * (0.01 ** (1 / 7) - 80 ** (1 / 7))) ** 7
    np.testing.assert_allclose(s, np.append(want, 0.0), rtol=1e-12)


def test_karras_grid_maps_noise_levels_to_model_times():
    grid = karras_grid(S, 10)
    sigma_ve = np.asarray(grid.sigma, np.float64) / np.asarray(grid.alpha, np.float64)
    np.testing.assert_allclose(sigma_ve[[0, -2]], SIGMA_VE[[-1, 0]], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grid.t)[[0, -2]], [999, 0], atol=1e-3)
    assert grid.sigma[-1] == 0 and not grid.discrete and grid.ends_at_data
    np.testing.assert_allclose(np.square(grid.alpha) + np.square(grid.sigma), 1.0, rtol=1e-6)
    # A level equal to a training step's noise maps to that step.
    one = karras_grid(S, 2, sigma_min=float(SIGMA_VE[100]), sigma_max=float(SIGMA_VE[700]))
    np.testing.assert_allclose(np.asarray(one.t)[:2], [700, 100], atol=1e-3)
    with pytest.raises(ValueError, match="leaves the schedule"):
        karras_grid(S, 10, sigma_max=1e4)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_step_orders_for_short_and_long_schedules():
    from gensys.diffusion import make_sampler

    grid = make_sampling_grid(S, 6, "linspace")
    np.testing.assert_array_equal(make_sampler("dpmpp_3m").step_orders(grid), [1, 2, 3, 3, 2, 1])
    np.testing.assert_array_equal(make_sampler("heun").step_orders(grid), [2, 2, 2, 2, 2, 1])
    long = make_sampling_grid(S, 20, "trailing")
    orders = step_orders(long, 2)
    assert orders[0] == 1 and np.all(orders[1:-1] == 2) and orders[-1] == 1
    with pytest.raises(ValueError, match="spacing must be one of"):
        make_sampling_grid(S, 10, "uniform")
    assert make_sampling_grid(S, None, "leading").num_steps == 1000


def test_thresholds():
    x0 = jnp.array([[0.2, -0.5, 0.9, 0.1], [3.0, -2.0, 0.5, 1.5]])
    np.testing.assert_allclose(make_threshold("clip")(x0), jnp.clip(x0, -1, 1))
    np.testing.assert_allclose(make_threshold("none")(x0), x0)
    out = dynamic_threshold(x0, 1.0)
    np.testing.assert_allclose(out[0], x0[0])  # |x| <= 1 already: s = 1, unchanged
    np.testing.assert_allclose(out[1], x0[1] / 3.0)  # s = max |x| = 3
    s = float(np.quantile(np.abs(np.asarray(x0[1])), 0.5))
    np.testing.assert_allclose(dynamic_threshold(x0, 0.5)[1], np.clip(x0[1], -s, s) / s, rtol=1e-6)
    with pytest.raises(ValueError, match="threshold must be one of"):
        make_threshold("static")


def test_the_options_name_their_bad_inputs():
    from gensys.diffusion.samplers import DDPM, ddpm_update

    schedule = schedules.linear_schedule(1000)
    steps = np.array([500, 0])
    with pytest.raises(ValueError, match=r"final_alpha_bar must lie in \(alpha_bar of step 0"):
        discrete_grid(schedule, steps, final_alpha_bar=float(schedule.alpha_bars[0]))
    grid = make_sampling_grid(schedule, 10, "leading", steps_offset=1, set_alpha_to_one=False)
    assert not grid.ends_at_data and float(grid.sigma[-1]) > 0
    np.testing.assert_allclose(float(grid.alpha[-1]) ** 2, float(schedule.alpha_bars[0]), rtol=1e-6)
    with pytest.raises(ValueError, match="set_alpha_to_one=False is for discrete grids"):
        make_sampling_grid(schedule, 10, "karras", set_alpha_to_one=False)
    model = lambda x, t: jnp.zeros_like(x)  # noqa: E731
    x = jnp.zeros((2, 3))
    with pytest.raises(ValueError, match=r"noises must have shape \(10, 2, 3\)"):
        sample(None, make_sampler("ddpm"), grid, model, x.shape, parameterization="eps",
               x_init=x, noises=jnp.zeros((9, 2, 3)))  # fmt: skip
    with pytest.raises(ValueError, match="noises given to a deterministic sampler"):
        sample(None, make_sampler("ddim"), grid, model, x.shape, parameterization="eps",
               x_init=x, noises=jnp.zeros((10, 2, 3)))  # fmt: skip
    with pytest.raises(ValueError, match="variance must be one of"):
        DDPM(variance="learned")
    with pytest.raises(ValueError, match="exclude each other"):
        one = jnp.ones(())
        ddpm_update(x, x, one, one, one, one, one, x, jnp.zeros_like(x), fixed_large=True)
