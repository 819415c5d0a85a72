"""EDM's preconditioning, loss and samplers against Gaussian data's exact denoiser."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.diffusion.edm import edm_loss, edm_sample, make_denoiser, preconditioning

MU, S = 0.4, 0.6  # data N(MU, S^2 I)


def exact_denoiser(x, sigma):
    """E[y | y + sigma n = x] for y ~ N(MU, S^2 I)."""
    s2 = sigma.reshape(-1, *([1] * (x.ndim - 1))) ** 2
    return (S**2 * x + s2 * MU) / (S**2 + s2)


def test_preconditioning_scales_inputs_and_targets_to_unit_variance():
    sigma = jnp.geomspace(0.002, 80.0, 9)
    c = preconditioning(sigma, sigma_data=0.5)
    np.testing.assert_allclose(c.c_in**2 * (sigma**2 + 0.25), 1.0, rtol=1e-5)  # the input
    # The network's target (y - c_skip x) / c_out has unit variance for data of std 0.5.
    target_var = ((1 - c.c_skip) ** 2 * 0.25 + c.c_skip**2 * sigma**2) / c.c_out**2
    np.testing.assert_allclose(target_var, 1.0, rtol=1e-4)
    np.testing.assert_allclose(c.c_noise, jnp.log(sigma) / 4, rtol=1e-6)
    # A network that outputs 0 leaves the skip connection alone.
    x = jnp.ones((9, 2))
    np.testing.assert_allclose(
        make_denoiser(lambda h, n: jnp.zeros_like(h))(x, sigma), c.c_skip[:, None] * x
    )


def test_the_loss_is_smallest_for_the_exact_denoiser():
    y = MU + S * jax.random.normal(jax.random.key(0), (4096, 2))

    def loss(denoiser):
        return float(jnp.mean(edm_loss(jax.random.key(1), denoiser, y)))

    best = loss(exact_denoiser)
    assert loss(lambda x, s: exact_denoiser(x, s) * 1.05) > best
    assert loss(lambda x, s: exact_denoiser(x, s) + 0.05) > best


def test_heun_follows_the_ode_and_the_churn_keeps_the_distribution():
    x_t = 80.0 * jax.random.normal(jax.random.key(2), (6, 2))
    # The ODE keeps (x - MU) / sqrt(S^2 + sigma^2): from 80 to 0 it maps x_T to this.
    target = MU + (x_t - MU) * S / math.sqrt(S**2 + 80.0**2)
    x0 = jax.jit(lambda z: edm_sample(exact_denoiser, jax.random.key(3), z.shape, num_steps=128,
                                      x_init=z))(x_t)  # fmt: skip
    # Second order: measured 0.061, 0.013, 0.0031, 0.00075 at 16, 32, 64, 128 steps.
    np.testing.assert_allclose(x0, target, atol=2e-3)
    # The stochastic sampler draws from the data distribution too (moments of 4,000 draws).
    draws = jax.jit(lambda k: edm_sample(exact_denoiser, k, (4000, 1), num_steps=32, s_churn=40.0,
                                         s_tmin=0.05, s_tmax=50.0))(jax.random.key(4))  # fmt: skip
    assert abs(float(draws.mean()) - MU) < 0.04 and abs(float(draws.std()) - S) < 0.04
    with pytest.raises(ValueError, match="s_churn and s_noise must be >= 0"):
        edm_sample(exact_denoiser, jax.random.key(0), (1, 1), s_churn=-1.0)


def test_gensys_samplers_run_on_the_edm_levels():
    from gensys.diffusion import make_sampler, sample
    from gensys.diffusion.edm import sampling_grid

    x_t = 80.0 * jax.random.normal(jax.random.key(5), (6, 2))
    grid = sampling_grid(18)
    ours = edm_sample(exact_denoiser, jax.random.key(0), x_t.shape, num_steps=18, x_init=x_t)
    # gensys's Heun on the same levels is Algorithm 2 without churn.
    heun = sample(None, make_sampler("heun"), grid, exact_denoiser, x_t.shape,
                  parameterization="x0", x_init=x_t)  # fmt: skip
    np.testing.assert_allclose(heun, ours, rtol=1e-5, atol=1e-5)
    target = MU + (x_t - MU) * S / math.sqrt(S**2 + 80.0**2)
    # DPM-Solver++ 2M converges there too: measured 0.113, 0.024, 0.0054 at 18, 36, 72 steps.
    dpm = sample(None, make_sampler("dpmpp_2m"), sampling_grid(72), exact_denoiser, x_t.shape,
                 parameterization="x0", x_init=x_t)  # fmt: skip
    np.testing.assert_allclose(dpm, target, atol=0.015)
