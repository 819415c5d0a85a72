"""DDIM against its oracles: the DDPM posterior at eta = 1, determinism at eta = 0,
exact steps for a point mass, and inversion on Gaussian data with its exact denoiser."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gensys.diffusion import ddpm_ddim, process, schedules, spacing

S = schedules.linear_schedule(1000)


def exact_gaussian_eps(mu, var):
    """E[eps | x_t] for data x0 ~ N(mu, var I): sqrt(1 - a) (x_t - sqrt(a) mu) / (a var + 1 - a)."""

    def eps(x, t):
        a = S.alpha_bars[t].reshape(-1, *([1] * (x.ndim - 1)))
        return jnp.sqrt(1 - a) * (x - jnp.sqrt(a) * mu) / (a * var + 1 - a)

    return eps


def _model(x, t):
    # Any smooth network stands in: DDIM(eta=1) and DDPM must agree for every model.
    return jnp.tanh(x) * (0.5 + t.reshape(-1, 1, 1, 1) / 1000.0)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
@settings(max_examples=20, deadline=None)
@given(t=st.integers(1, 999), seed=st.integers(0, 2**16))
def test_ddim_eta1_between_consecutive_steps_is_the_ddpm_step(t, seed):
    kx, kz = jax.random.split(jax.random.key(seed))
    x = jax.random.normal(kx, (3, 4, 4, 1))
    z = jax.random.normal(kz, x.shape)
    tt = jnp.full((3,), t, jnp.int32)
    ddim = jax.jit(lambda x, z: ddpm_ddim.ddim_step(S, _model, x, tt, tt - 1, z, eta=1.0))(x, z)
    ddpm = jax.jit(lambda x, z: ddpm_ddim.ddpm_step(S, _model, x, tt, z))(x, z)
    np.testing.assert_allclose(ddim, ddpm, rtol=2e-4, atol=2e-5)


def test_ddim_eta0_ignores_noise():
    x = jax.random.normal(jax.random.key(0), (2, 4, 4, 1))
    t, t_prev = jnp.array([700, 300]), jnp.array([500, 100])
    a = ddpm_ddim.ddim_step(S, _model, x, t, t_prev, jnp.zeros_like(x), eta=0.0)
    b = ddpm_ddim.ddim_step(S, _model, x, t, t_prev, jnp.ones_like(x), eta=0.0)
    np.testing.assert_array_equal(a, b)


@settings(max_examples=20, deadline=None)
@given(t=st.integers(1, 999), gap=st.integers(1, 400), seed=st.integers(0, 2**16))
def test_ddim_step_with_exact_x0_reproduces_the_marginal(t, gap, seed):
    kx, ke = jax.random.split(jax.random.key(seed))
    x0 = jax.random.uniform(kx, (2, 4, 4, 1), minval=-0.9, maxval=0.9)
    eps = jax.random.normal(ke, x0.shape)
    s = max(t - gap, -1)
    tt, ss = jnp.full((2,), t, jnp.int32), jnp.full((2,), s, jnp.int32)
    xt = process.q_sample(S, x0, tt, eps)
    out = ddpm_ddim.ddim_step(S, lambda x, t: eps, xt, tt, ss, jnp.zeros_like(x0), eta=0.0)
    a_s = 1.0 if s < 0 else float(S.alpha_bars[s])
    # The x0 recovered from eps carries float32 error amplified by 1/sqrt(a_t).
    tol = 3e-6 / float(np.sqrt(S.alpha_bars[t]))
    np.testing.assert_allclose(out, np.sqrt(a_s) * x0 + np.sqrt(1 - a_s) * eps, atol=tol)


def test_ddim_sample_recovers_a_point_mass_in_ten_steps():
    target = jnp.linspace(-0.6, 0.6, 16).reshape(1, 4, 4, 1)

    def oracle(x, t):
        return process.predict_eps_from_x0(S, x, t, jnp.broadcast_to(target, x.shape))

    steps = spacing.timestep_spacing(1000, 10, "trailing")
    for eta in (0.0, 1.0):
        out = jax.jit(
            lambda k, e=eta: ddpm_ddim.ddim_sample(k, S, oracle, (3, 4, 4, 1), steps, eta=e)
        )(jax.random.key(2))
        np.testing.assert_allclose(out, jnp.broadcast_to(target, out.shape), atol=1e-4)


def test_ddim_inversion_then_generation_reconstructs_with_first_order_error():
    # Gaussian data with its exact denoiser. Measured max errors (linspace spacing,
    # 16 draws of 4x4): 0.13 at 50 steps, 0.067 at 100, 0.034 at 200: halving
    # with each doubling, as a first-order method should.
    eps = exact_gaussian_eps(0.3, 0.25)
    x0 = jnp.clip(0.3 + 0.5 * jax.random.normal(jax.random.key(0), (16, 4, 4, 1)), -1, 1)

    @functools.partial(jax.jit, static_argnums=0)
    def round_trip_error(num_steps):
        steps = spacing.timestep_spacing(1000, num_steps, "linspace")  # static: sets the scan
        code = ddpm_ddim.ddim_invert(S, eps, x0, steps)
        return jnp.abs(ddpm_ddim.ddim_decode(S, eps, code, steps) - x0).max()

    errors = {n: float(round_trip_error(n)) for n in (50, 100)}
    assert errors[100] < 0.1
    assert 1.6 < errors[50] / errors[100] < 2.4


def test_ddim_rejects_bad_steps():
    x = jnp.zeros((2, 4, 4, 1))
    with pytest.raises(ValueError, match=r"timesteps must be in \[0, 1000\)"):
        ddpm_ddim.ddim_sample(jax.random.key(0), S, _model, x.shape, np.array([1000, 5]))
    with pytest.raises(ValueError, match=r"t_prev must have shape \(2,\)"):
        ddpm_ddim.ddim_step(S, _model, x, jnp.array([5, 5]), jnp.array([1]), x)
