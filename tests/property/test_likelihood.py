"""The variational bound against closed forms: the Gaussian KL anchor, the
discretized decoder against the normal CDF, the KL terms of the analytic
Gaussian model against their expectation, and the hybrid loss's stop-gradient."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.stats import norm

from gensys.diffusion import (
    diffusion_loss,
    discretized_gaussian_log_likelihood,
    normal_kl,
    per_example_keys,
    prior_kl,
    q_sample,
    schedules,
    vlb_bits_per_dim,
    vlb_term,
)


def test_normal_kl_anchor_and_zero_at_equality():
    # ../shared/ANCHORS.md: KL(N(0.5, e^-1) || N(0, 1)) = 0.3089397.
    np.testing.assert_allclose(normal_kl(0.5, -1.0, 0.0, 0.0), 0.3089397, rtol=1e-6)
    assert float(normal_kl(0.3, 0.2, 0.3, 0.2)) == 0.0


@pytest.mark.parametrize("num_levels", [2, 17, 256])
def test_discretized_gaussian_is_the_normal_mass_of_each_bin(num_levels):
    levels = np.linspace(-1, 1, num_levels)
    mean, log_scale = 0.23, np.log(0.4)
    x = jnp.asarray(levels, jnp.float32)
    got = discretized_gaussian_log_likelihood(
        x, jnp.full(num_levels, mean), jnp.full(num_levels, log_scale), num_levels
    )
    edges = np.concatenate([[-np.inf], (levels[:-1] + levels[1:]) / 2, [np.inf]])
    want = np.log(np.diff(norm.cdf(edges, mean, 0.4)))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(np.exp(np.asarray(got, np.float64)).sum(), 1.0, rtol=1e-5)


def test_discretized_gaussian_keeps_precision_in_the_far_tail():
    # A bin 8 standard deviations above the mean: 1 - cdf differences would round to 0.
    got = discretized_gaussian_log_likelihood(
        jnp.array([0.8]), jnp.array([0.0]), jnp.log(jnp.array([0.1])), 256
    )
    half = 1 / 255
    want = np.log(norm.sf((0.8 - half) / 0.1) - norm.sf((0.8 + half) / 0.1))
    np.testing.assert_allclose(got, want, rtol=1e-4)


MU, VAR = 0.2, 0.3**2
S = schedules.linear_schedule(1000)


def analytic_eps(x, t):
    """The exact epsilon prediction for data N(MU, VAR)."""
    a = S.alpha_bars[t].reshape(-1, *([1] * (x.ndim - 1)))
    return jnp.sqrt(1 - a) * (x - jnp.sqrt(a) * MU) / (a * VAR + 1 - a)


def test_kl_terms_of_the_analytic_gaussian_model_equal_their_closed_form():
    """E_eps KL_t = c1_t^2 E(x0 - x0_hat)^2 / (2 beta~_t), with
    x0 - x0_hat = (1 - k a) (x0 - MU) - k s eps, k = a VAR / (a^2 VAR + s^2).

    The KL is quadratic in eps, so eps = +1 and -1 average to its expectation exactly.
    """
    x0 = 0.9
    t = np.repeat(np.arange(1, 1000), 2)
    eps = np.tile([1.0, -1.0], 999)[:, None]
    x0_arr = jnp.full((t.shape[0], 1), x0)
    tt = jnp.asarray(t, jnp.int32)
    x_t = S.sqrt_alpha_bars[tt][:, None] * x0_arr + S.sqrt_one_minus_alpha_bars[tt][:, None] * eps
    terms = jax.jit(lambda x_t: vlb_term(S, analytic_eps(x_t, tt), x0_arr, x_t, tt))(x_t)
    got = np.asarray(terms, np.float64).reshape(999, 2).mean(axis=1)

    betas = np.asarray(S.betas, np.float64)
    ab = np.cumprod(1 - betas)
    ab_prev = np.append(1.0, ab[:-1])
    a, s = np.sqrt(ab), np.sqrt(1 - ab)
    k = a * VAR / (a**2 * VAR + s**2)
    mse = (1 - k * a) ** 2 * (x0 - MU) ** 2 + k**2 * s**2
    c1 = betas * np.sqrt(ab_prev) / (1 - ab)
    beta_tilde = betas * (1 - ab_prev) / (1 - ab)
    want = (c1**2 * mse)[1:] / (2 * beta_tilde[1:])  # beta~_0 = 0: no KL term at t = 0
    np.testing.assert_allclose(got, want, rtol=2e-3, atol=1e-7)
    np.testing.assert_allclose(got.sum(), want.sum(), rtol=1e-3)

    prior = prior_kl(S, jnp.full((1, 1), x0))
    want_prior = 0.5 * (ab[-1] * x0**2 + (1 - ab[-1]) - 1 - np.log(1 - ab[-1]))
    np.testing.assert_allclose(prior, [want_prior], rtol=1e-3)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_vlb_bits_per_dim_adds_up_its_terms():
    small = schedules.linear_schedule(6)
    x0 = jnp.asarray(np.linspace(-1, 1, 17)[[0, 3, 8, 16, 11, 5]].reshape(2, 3, 1, 1), jnp.float32)
    key = jax.random.key(0)
    model = lambda x, t: 0.3 * x  # noqa: E731
    out = vlb_bits_per_dim(key, small, model, x0, num_levels=17)
    total = out["prior_bpd"] + out["kl_bpd"] + out["decoder_bpd"]
    np.testing.assert_allclose(out["bpd"], total, rtol=1e-6)
    assert np.all(np.asarray(out["kl_bpd"]) >= 0) and np.all(np.asarray(out["decoder_bpd"]) >= 0)

    # The same terms one by one, with the same per-example noise.
    keys = per_example_keys(key, 2)
    nats = np.zeros(2)
    for t in range(6):
        noise = jax.vmap(lambda k, t=t: jax.random.normal(jax.random.fold_in(k, t), (3, 1, 1)))(
            keys
        )
        tt = jnp.full((2,), t, jnp.int32)
        x_t = q_sample(small, x0, tt, noise)
        nats += np.asarray(vlb_term(small, model(x_t, tt), x0, x_t, tt, num_levels=17))
    nats += np.asarray(prior_kl(small, x0))
    np.testing.assert_allclose(out["bpd"], nats / (3 * math.log(2)), rtol=1e-5)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_hybrid_loss_trains_the_variance_only_through_the_bound():
    x0 = jnp.asarray(np.linspace(-1, 1, 8).reshape(2, 2, 2, 1), jnp.float32)
    key = jax.random.key(1)

    def loss(params, learned):
        def model(x, t):
            mean = params["mean"] * x
            return jnp.concatenate([mean, jnp.tanh(params["var"] * x)], -1) if learned else mean

        return jnp.mean(diffusion_loss(key, S, model, x0, learned_variance=learned, num_levels=256))

    params = {"mean": jnp.array(0.4), "var": jnp.array(0.7)}
    with_bound = jax.grad(loss)(params, True)
    mse_only = jax.grad(loss)(params, False)
    np.testing.assert_allclose(with_bound["mean"], mse_only["mean"], rtol=1e-6)
    assert float(jnp.abs(with_bound["var"])) > 0
