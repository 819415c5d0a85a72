"""The forward process and posterior against brute force, under jit.

Monte Carlo tolerances are derived from the standard error: with n draws the
sample mean has standard error sd / sqrt(n), and the sample variance
var * sqrt(2 / (n - 1)); we allow 5 standard errors (a false failure about
once in 1.7 million per coordinate).
"""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gensys.diffusion import process, schedules

T = 1000
SCHEDULE = schedules.linear_schedule(T)
BETAS64 = schedules.linear_betas(T)
ALPHA_BARS64 = np.cumprod(1.0 - BETAS64)


def test_iterated_coefficients_equal_closed_form():
    # Mean coefficient of x_0 after t+1 single steps of gensys's betas: prod sqrt(1 - beta_s);
    # variance: accumulated through v <- (1 - beta) v + beta. Both must equal the schedule's
    # closed-form sqrt(alpha_bar_t) and 1 - alpha_bar_t (stored in float32).
    betas = np.asarray(SCHEDULE.betas, np.float64)
    mean_coef, var = 1.0, 0.0
    for t in range(T):
        mean_coef *= np.sqrt(1.0 - betas[t])
        var = (1.0 - betas[t]) * var + betas[t]
        if t in (0, 1, 10, 487, 999):
            np.testing.assert_allclose(mean_coef, SCHEDULE.sqrt_alpha_bars[t], rtol=2e-6)
            np.testing.assert_allclose(
                var, np.square(np.float64(SCHEDULE.sqrt_one_minus_alpha_bars[t])), rtol=2e-6
            )


_q_step_sample = jax.jit(process.q_step_sample)


def _iterate_forward(seed, x0, t_final, n):
    """``t_final + 1`` single forward steps from ``x0`` for ``n`` chains (NumPy's noise: the
    suite compiles without LLVM's optimisations, under which drawing these 80 million
    normals in XLA took 40 s)."""
    rng = np.random.default_rng(seed)
    x = jnp.broadcast_to(x0, (n,) + x0.shape)
    for t in range(t_final + 1):
        noise = rng.standard_normal(x.shape, dtype=np.float32)
        x = _q_step_sample(SCHEDULE, x, jnp.full((n,), t, jnp.int32), noise)
    return x


@settings(max_examples=4, deadline=None)
@given(t=st.sampled_from([0, 5, 100, 500, 999]), seed=st.integers(0, 2**16))
def test_iterated_forward_matches_closed_form_moments(t, seed):
    n = 20_000
    x0 = jnp.array([1.0, -0.5, 0.0, 0.8], jnp.float32)
    samples = np.asarray(_iterate_forward(seed, x0, t, n), np.float64)
    mean, var = process.q_mean_variance(
        SCHEDULE, jnp.broadcast_to(x0, (1, 4)), jnp.array([t], jnp.int32)
    )
    mean, var = np.asarray(mean)[0], float(np.asarray(var).reshape(-1)[0])
    se_mean = np.sqrt(var / n)
    se_var = var * np.sqrt(2.0 / (n - 1))
    assert np.all(np.abs(samples.mean(0) - mean) < 5 * se_mean)
    assert np.all(np.abs(samples.var(0, ddof=1) - var) < 5 * se_var)


@settings(max_examples=25, deadline=None)
@given(t=st.integers(1, T - 1), seed=st.integers(0, 2**16))
def test_posterior_is_bayes_rule(t, seed):
    # q(x_{t-1} | x_t, x_0) ∝ N(x_t; sqrt(alpha_t) x_{t-1}, beta_t)
    #                      * N(x_{t-1}; sqrt(a_{t-1}) x_0, 1 - a_{t-1}),
    # a product of Gaussians in x_{t-1}: precisions add, precision-weighted means add.
    rng = np.random.default_rng(seed)
    x0, xt = rng.normal(size=(2, 3, 4, 4, 1))
    beta, a_prev = BETAS64[t], ALPHA_BARS64[t - 1]
    precision = (1.0 - beta) / beta + 1.0 / (1.0 - a_prev)
    mean = (np.sqrt(1.0 - beta) * xt / beta + np.sqrt(a_prev) * x0 / (1.0 - a_prev)) / precision
    tt = jnp.full((3,), t, jnp.int32)
    got_mean, got_var, got_logvar = jax.jit(process.q_posterior)(
        SCHEDULE, jnp.asarray(x0, jnp.float32), jnp.asarray(xt, jnp.float32), tt
    )
    np.testing.assert_allclose(np.asarray(got_mean), mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got_var).ravel(), 1.0 / precision, rtol=1e-5)
    np.testing.assert_allclose(np.exp(np.asarray(got_logvar).ravel()), 1.0 / precision, rtol=1e-4)


def test_posterior_at_t0_is_x0():
    x0 = jnp.linspace(-1, 1, 2 * 16).reshape(2, 4, 4, 1)
    xt = jnp.ones_like(x0)
    mean, var, _ = process.q_posterior(SCHEDULE, x0, xt, jnp.zeros((2,), jnp.int32))
    np.testing.assert_allclose(mean, x0, atol=1e-6)
    assert float(var.max()) == 0.0


@settings(max_examples=20, deadline=None)
@given(t=st.integers(0, T - 1), seed=st.integers(0, 2**16))
def test_x0_eps_conversions_round_trip(t, seed):
    key_x, key_e = jax.random.split(jax.random.key(seed))
    x0 = jax.random.uniform(key_x, (2, 4, 4, 1), minval=-1, maxval=1)
    eps = jax.random.normal(key_e, x0.shape)
    tt = jnp.full((2,), t, jnp.int32)
    xt = jax.jit(process.q_sample)(SCHEDULE, x0, tt, eps)
    x0_back = jax.jit(process.predict_x0_from_eps)(SCHEDULE, xt, tt, eps)
    eps_back = jax.jit(process.predict_eps_from_x0)(SCHEDULE, xt, tt, x0)
    # x0 from eps divides by sqrt(a_t) (>= 6e-3): float32 error grows like 1/sqrt(a_t).
    scale = 1.0 / float(np.sqrt(ALPHA_BARS64[t]))
    np.testing.assert_allclose(x0_back, x0, atol=2e-6 * scale)
    np.testing.assert_allclose(
        eps_back, eps, atol=2e-6 * max(1.0, 1.0 / np.sqrt(1 - ALPHA_BARS64[t]))
    )
