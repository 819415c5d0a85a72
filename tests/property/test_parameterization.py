"""Parameterizations round-trip exactly, their targets are what the conversions
invert, and each loss weighting puts the stated weight on the x0 error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gensys.diffusion import PARAMETERIZATIONS, loss_weight, to_x0_and_eps, training_target


def _draw(seed, tau):
    kx, ke = jax.random.split(jax.random.key(seed))
    x0 = jax.random.uniform(kx, (4, 3), minval=-1, maxval=1)
    eps = jax.random.normal(ke, (4, 3))
    alpha, sigma = jnp.cos(jnp.pi * tau / 2), jnp.sin(jnp.pi * tau / 2)
    return x0, eps, alpha, sigma


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), tau=st.floats(0.02, 0.98))
def test_targets_round_trip_through_the_conversions(seed, tau):
    x0, eps, alpha, sigma = _draw(seed, tau)
    x_t = alpha * x0 + sigma * eps
    for p in PARAMETERIZATIONS:
        target = training_target(p, x0, eps, alpha, sigma)
        got_x0, got_eps = to_x0_and_eps(p, target, x_t, alpha, sigma)
        # Exact up to float32 rounding, amplified by 1/alpha or 1/sigma at the ends.
        tol = 4e-7 / min(float(alpha), float(sigma))
        np.testing.assert_allclose(got_x0, x0, atol=tol, err_msg=p)
        np.testing.assert_allclose(got_eps, eps, atol=tol, err_msg=p)


def test_v_formulas_of_the_anchors():
    x0, eps, alpha, sigma = _draw(0, 0.3)
    x_t = alpha * x0 + sigma * eps
    v = alpha * eps - sigma * x0
    np.testing.assert_allclose(training_target("v", x0, eps, alpha, sigma), v)
    # gensys's conversion of a v output back to x0 and eps (not the test's own algebra).
    got_x0, got_eps = to_x0_and_eps("v", v, x_t, alpha, sigma)
    np.testing.assert_allclose(got_x0, x0, atol=1e-6)
    np.testing.assert_allclose(got_eps, eps, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    tau=st.floats(0.02, 0.98),
    weighting=st.sampled_from(["snr", "min_snr"]),
)
def test_weightings_put_the_stated_weight_on_the_x0_error(seed, tau, weighting):
    x0, eps, alpha, sigma = _draw(seed, tau)
    x_t = alpha * x0 + sigma * eps
    snr = alpha**2 / sigma**2
    lam = snr if weighting == "snr" else jnp.minimum(snr, 5.0)
    wrong = jax.random.normal(jax.random.key(seed + 1), x0.shape)  # any network output
    for p in PARAMETERIZATIONS:
        target = training_target(p, x0, eps, alpha, sigma)
        x0_hat, _ = to_x0_and_eps(p, wrong, x_t, alpha, sigma)
        lhs = loss_weight(weighting, p, snr) * jnp.sum((wrong - target) ** 2)
        rhs = lam * jnp.sum((x0_hat - x0) ** 2)
        np.testing.assert_allclose(lhs, rhs, rtol=2e-4, err_msg=p)


def test_simple_weighting_and_errors():
    assert float(loss_weight("simple", "v", jnp.array(3.0))) == 1.0
    assert float(loss_weight("min_snr", "eps", jnp.array(0.0))) == 0.0  # zero terminal SNR
    with pytest.raises(ValueError, match="weighting must be one of"):
        loss_weight("p2", "eps", jnp.array(1.0))
    with pytest.raises(ValueError, match="parameterization must be one of"):
        training_target("score", 0.0, 0.0, 1.0, 0.0)
