"""The VAE's math against its oracles: the KL anchor and Monte Carlo, the
linear-Gaussian model whose log p(x) is known, IWAE's monotonicity in K, and
reparameterized against score-function gradients."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from gensys.distributions import (
    bernoulli_log_prob,
    discretized_logistic_log_likelihood,
    normal_log_prob,
)
from gensys.vae import (
    diagonal_log_prob,
    elbo,
    iwae_bound,
    kl_to_standard_normal,
    reparameterize,
)

LOG_P_X = -1.5155121  # ../shared/ANCHORS.md: p(z) = N(0, 1), p(x | z) = N(z, 1), x = 1


def linear_gaussian_log_likelihood(x, z):
    """log N(x; z, 1) for x [B, 1] and z [B, K, 1] -> [B, K]."""
    return jnp.sum(normal_log_prob(x[:, None], z, 0.0), axis=-1)


def test_kl_anchor_zero_at_the_prior_and_monte_carlo():
    np.testing.assert_allclose(
        kl_to_standard_normal(jnp.array([[0.5]]), jnp.array([[-1.0]])), [0.3089397], rtol=1e-6
    )
    assert float(kl_to_standard_normal(jnp.zeros((1, 4)), jnp.zeros((1, 4)))[0]) == 0.0
    mean, log_var = jnp.array([[0.3, -1.2, 0.8]]), jnp.array([[0.4, -0.7, -2.0]])
    z = reparameterize(jax.random.key(0), mean, log_var, num_samples=200_000)[0]
    log_ratio = diagonal_log_prob(z, mean, log_var) - diagonal_log_prob(
        z, 0.0 * mean, 0.0 * log_var
    )
    se = float(jnp.std(log_ratio)) / math.sqrt(z.shape[0])
    assert abs(float(jnp.mean(log_ratio)) - float(kl_to_standard_normal(mean, log_var)[0])) < 5 * se


@settings(max_examples=50, deadline=None)
@given(
    mean=st.lists(st.floats(-5, 5), min_size=1, max_size=6),
    log_var=st.floats(-8, 4),
)
def test_kl_is_nonnegative(mean, log_var):
    m = jnp.asarray([mean], jnp.float32)
    assert float(kl_to_standard_normal(m, jnp.full_like(m, log_var))[0]) >= 0.0


def test_elbo_at_the_exact_posterior_is_log_p_x():
    # With q the exact posterior N(0.5, 0.5), log p(x, z) - log q(z | x) = log p(x) for every z.
    x = jnp.ones((3, 1))
    mean, log_var = jnp.full((3, 1), 0.5), jnp.full((3, 1), math.log(0.5))
    out = elbo(jax.random.key(1), x, mean, log_var, linear_gaussian_log_likelihood)
    # The one-sample reconstruction term is random, so compare the expectation:
    # E log N(1; z, 1) = -log(2 pi)/2 - ((1 - 0.5)^2 + 0.5)/2 under z ~ N(0.5, 0.5).
    expected_rec = -0.5 * math.log(2 * math.pi) - 0.5 * (0.25 + 0.5)
    np.testing.assert_allclose(expected_rec - out["kl"], LOG_P_X, rtol=1e-6)
    for k in (1, 7, 250):
        bound = iwae_bound(
            jax.random.key(2), x, mean, log_var, linear_gaussian_log_likelihood, num_samples=k
        )
        np.testing.assert_allclose(bound, LOG_P_X, rtol=1e-5)


def test_elbo_averages_to_log_p_x_at_the_exact_posterior():
    # The one-sample ELBO itself (not its parts) is unbiased for log p(x) when q is the
    # exact posterior: averaged over 4,000 draws it is within 4 standard errors of it. A KL
    # added instead of subtracted would put it 2 KL = 0.46 nats above.
    x = jnp.ones((1, 1))
    mean, log_var = jnp.full((1, 1), 0.5), jnp.full((1, 1), math.log(0.5))
    keys = jax.random.split(jax.random.key(3), 4000)
    draws = jax.jit(
        jax.vmap(lambda k: elbo(k, x, mean, log_var, linear_gaussian_log_likelihood)["elbo"][0])
    )(keys)  # noqa: E501
    standard_error = float(jnp.std(draws)) / math.sqrt(len(draws))
    assert abs(float(jnp.mean(draws)) - LOG_P_X) < 4 * standard_error + 1e-6


def test_iwae_rises_with_k_towards_log_p_x():
    # q = the prior N(0, 1), a poor proposal: the bound climbs with K.
    seeds = 400
    x = jnp.ones((seeds, 1))
    zeros = jnp.zeros((seeds, 1))
    means, ses = [], []
    for k in (1, 10, 100, 1000):
        b = np.asarray(
            iwae_bound(
                jax.random.key(k), x, zeros, zeros, linear_gaussian_log_likelihood,
                num_samples=k, chunk_size=64,
            )
        )  # fmt: skip
        means.append(b.mean())
        ses.append(b.std() / math.sqrt(seeds))
    for a, b, sa, sb in zip(means, means[1:], ses, ses[1:], strict=False):
        assert b > a - 3 * math.hypot(sa, sb)
    # ELBO with q = prior: E log p(x|z) - 0 = -log(2 pi)/2 - (1 + 1)/2.
    assert abs(means[0] - (-0.5 * math.log(2 * math.pi) - 1.0)) < 5 * ses[0]
    assert means[-1] < LOG_P_X + 3 * ses[-1] and means[-1] > LOG_P_X - 0.01


def test_iwae_chunks_do_not_change_the_estimate_beyond_noise():
    x, zeros = jnp.ones((200, 1)), jnp.zeros((200, 1))
    a = iwae_bound(jax.random.key(3), x, zeros, zeros, linear_gaussian_log_likelihood,
                   num_samples=250, chunk_size=250)  # fmt: skip
    b = iwae_bound(jax.random.key(3), x, zeros, zeros, linear_gaussian_log_likelihood,
                   num_samples=250, chunk_size=60)  # fmt: skip
    se = float(jnp.std(a)) / math.sqrt(200)
    assert abs(float(jnp.mean(a)) - float(jnp.mean(b))) < 5 * math.sqrt(2) * se


def test_reparameterized_and_score_function_gradients_agree():
    # d/d mu E_{z ~ N(mu, s^2)} [z^2 + 3 z] = 2 mu + 3, estimated two ways.
    mu, log_var, n = 0.7, math.log(0.6), 200_000
    key = jax.random.key(4)

    def objective(z):
        return z**2 + 3 * z

    def reparam(m):
        z = reparameterize(key, jnp.full((1, 1), m), jnp.full((1, 1), log_var), num_samples=n)
        return objective(z)

    z = reparameterize(key, jnp.full((1, 1), mu), jnp.full((1, 1), log_var), num_samples=n)[0, :, 0]
    g_reparam = 2 * z + 3  # d/dmu objective(mu + s eps)
    score = (z - mu) / math.exp(log_var)  # d/dmu log N(z; mu, s^2)
    g_score = objective(z) * score
    est_r, est_s = float(jnp.mean(g_reparam)), float(jnp.mean(g_score))
    se = math.hypot(float(jnp.std(g_reparam)), float(jnp.std(g_score))) / math.sqrt(n)
    assert abs(est_r - est_s) < 5 * se
    assert abs(est_r - (2 * mu + 3)) < 5 * float(jnp.std(g_reparam)) / math.sqrt(n)
    # The autodiff gradient through the reparameterization is the same estimator.
    auto = jax.grad(lambda m: jnp.mean(reparam(m)))(mu)
    np.testing.assert_allclose(auto, est_r, rtol=1e-4)


def test_likelihoods_of_the_decoders():
    # Bernoulli from logits stays finite where probabilities would round to 0 or 1.
    np.testing.assert_allclose(bernoulli_log_prob(1.0, 100.0), 0.0, atol=1e-30)
    np.testing.assert_allclose(bernoulli_log_prob(0.0, 100.0), -100.0, rtol=1e-6)
    np.testing.assert_allclose(normal_log_prob(1.3, 0.2, math.log(0.5)),
                               norm.logpdf(1.3, 0.2, math.sqrt(0.5)), rtol=1e-6)  # fmt: skip
    for levels in (2, 17, 256):
        x = jnp.linspace(-1, 1, levels)
        log_p = discretized_logistic_log_likelihood(
            x, jnp.full(levels, 0.1), jnp.full(levels, math.log(0.3)), levels
        )
        np.testing.assert_allclose(np.exp(np.asarray(log_p, np.float64)).sum(), 1.0, rtol=1e-5)
    # A far-tail bin keeps its precision.
    # A bin 45 scales above the mean: 1 - sigmoid differences would round to 0 in float32.
    got = discretized_logistic_log_likelihood(
        jnp.array([0.9]), jnp.array([0.0]), jnp.log(jnp.array([0.02])), 256
    )
    half, s = 1 / 255, 0.02
    # P = sigmoid(-(x - h)/s) - sigmoid(-(x + h)/s), in float64.
    want = math.log(1 / (1 + math.exp((0.9 - half) / s)) - 1 / (1 + math.exp((0.9 + half) / s)))
    np.testing.assert_allclose(got, [want], rtol=1e-4)
