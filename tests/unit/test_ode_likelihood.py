"""The probability-flow ODE likelihood against a Gaussian model's closed-form density."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.diffusion import schedules
from gensys.diffusion.ode_likelihood import (
    _time_of_level,
    divergence,
    ode_log_density,
    ode_nll_nats,
)

MU, S = 0.3, 0.7
SCHEDULE = schedules.linear_schedule(1000)


def gaussian_eps():
    """The optimal eps of data N(MU, S^2 I) at fractional model time t, on the ODE's own map
    from times to noise levels (log s linear between training steps)."""
    ab = jnp.asarray(SCHEDULE.alpha_bars)
    log_s = 0.5 * jnp.log((1 - ab) / ab)

    def model(x, t):
        s2 = jnp.exp(2 * jnp.interp(t, jnp.arange(1000.0), log_s)).reshape(-1, 1)
        alpha_bar = 1 / (1 + s2)
        return (
            jnp.sqrt(1 - alpha_bar)
            * (x - jnp.sqrt(alpha_bar) * MU)
            / (alpha_bar * S**2 + 1 - alpha_bar)
        )

    return model


def test_the_ode_density_of_gaussian_data_is_its_closed_form():
    x = jax.random.normal(jax.random.key(0), (5, 3)) * 0.8
    s_min, _, _ = _time_of_level(SCHEDULE)
    # y = x0 + s_min eps: the data's density at the model's smallest noise level.
    true = jax.scipy.stats.norm.logpdf(x, MU, np.sqrt(S**2 + s_min**2)).sum(-1)
    exact = jax.jit(lambda v: ode_log_density(SCHEDULE, gaussian_eps(), v, num_steps=128))(x)
    # Heun on 128 levels: 0.022 nats off at most (0.075 at 64, 0.009 at 256), second order.
    np.testing.assert_allclose(exact, true, atol=0.05)
    # Hutchinson's estimate is unbiased: its mean over probes is the exact integral's.
    keys = jax.random.split(jax.random.key(1), 400)

    def hutchinson(key):
        return ode_log_density(
            SCHEDULE, gaussian_eps(), x, num_steps=128, divergence_kind="hutchinson", key=key
        )

    estimates = jax.jit(jax.vmap(hutchinson))(keys)
    spread = np.asarray(estimates.std(0)) / np.sqrt(len(keys))
    assert np.all(np.abs(np.asarray(estimates.mean(0) - exact)) < 4 * spread + 1e-3)


def test_divergence_exact_and_hutchinson():
    matrix = jax.random.normal(jax.random.key(2), (4, 4))
    y = jax.random.normal(jax.random.key(3), (2, 4))
    out, div = divergence(lambda v: jnp.tanh(v @ matrix), y)
    jac = jax.vmap(jax.jacfwd(lambda v: jnp.tanh(v @ matrix)))(y)
    np.testing.assert_allclose(div, jnp.trace(jac, axis1=1, axis2=2), rtol=1e-5)
    probe = jnp.ones_like(y)
    _, hutch = divergence(lambda v: jnp.tanh(v @ matrix), y, probe=probe)
    np.testing.assert_allclose(hutch, jnp.einsum("bi,bij,bj->b", probe, jac, probe), rtol=1e-5)


def test_dequantized_nll_is_in_nats_of_the_levels_and_errors_are_named():
    levels = jax.random.randint(jax.random.key(4), (3, 2), 0, 17)
    x = levels / 8.0 - 1.0
    out = jax.jit(lambda v: ode_nll_nats(jax.random.key(5), SCHEDULE, gaussian_eps(), v,
                                         num_levels=17, num_steps=32))(x)  # fmt: skip
    np.testing.assert_allclose(out["bpd"], out["nll_nats"] / (2 * np.log(2)), rtol=1e-6)
    assert np.all(np.asarray(out["nll_nats"]) > 0)  # a probability of discrete data is <= 1
    with pytest.raises(ValueError, match="divergence_kind must be one of"):
        ode_log_density(SCHEDULE, gaussian_eps(), x, divergence_kind="skilling")
    with pytest.raises(ValueError, match="needs a key"):
        ode_log_density(SCHEDULE, gaussian_eps(), x, divergence_kind="hutchinson")
