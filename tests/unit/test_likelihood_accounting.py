"""One accounting: a uniform model over 256 levels is exactly 8 bits per dimension, by
the formula and through the autoregressive and flow likelihood paths."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys import flows
from gensys.distributions import bits_per_dim, categorical_log_prob
from gensys.eval.likelihood import ACCOUNTING, accounting_of, uniform_nll_nats
from gensys.recipes.registry import FAMILIES


def test_uniform_over_256_levels_is_8_bits_per_dim_everywhere():
    dims = 28 * 28
    assert bits_per_dim(uniform_nll_nats(dims, 256), dims) == pytest.approx(8.0, rel=1e-6)
    assert bits_per_dim(uniform_nll_nats(64, 17), 64) == pytest.approx(math.log2(17), rel=1e-6)
    # Autoregressive: equal logits over 256 levels.
    levels = jax.random.randint(jax.random.key(0), (3, 4, 4, 1), 0, 256)
    log_p = categorical_log_prob(levels, jnp.zeros((3, 4, 4, 1, 256))).reshape(3, -1).sum(-1)
    np.testing.assert_allclose(bits_per_dim(-log_p, 16), 8.0, rtol=1e-6)
    # Flow: a density that is uniform on [0, 1)^D, through the dequantization bound.
    bound = flows.discrete_log_likelihood_bound(jnp.zeros(3), 256, 16)
    np.testing.assert_allclose(bits_per_dim(-bound, 16), 8.0, rtol=1e-6)


def test_every_family_states_its_accounting():
    assert set(FAMILIES) == set(ACCOUNTING)
    assert accounting_of("vae", autoencoder=True).startswith("none")
    assert accounting_of("flow", continuous=True).startswith("exact")
    assert "RNADE" in accounting_of("autoregressive", continuous=True)
    assert accounting_of("flow").startswith("upper bound")
    with pytest.raises(ValueError, match="unknown family"):
        accounting_of("ebm")
    with pytest.raises(ValueError, match="num_levels >= 2"):
        uniform_nll_nats(10, 1)
