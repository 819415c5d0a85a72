"""Variational dequantization: the bound's formula against an exact discrete likelihood,
and the noise flow's range, log-density (autodiff) and dependence on the image."""

import math
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from gensys.flows import (
    dequantize,
    discrete_log_likelihood_bound,
    variational_dequantization_bound,
)
from gensys.nets.dequantization import VariationalDequantizer

LEVELS = 5


def test_the_bound_is_exact_with_the_true_conditional_and_loose_with_the_uniform():
    # One pixel with density N(0.4, 0.25^2) for y = (k + u) / L: P(k) is a difference of
    # normal CDFs. With q(u | k) the true conditional p(u | k) = p_y(y) / (L P(k)) the bound
    # equals log P(k) for every u; the uniform q is a strict lower bound on average.
    density = stats.norm(0.4, 0.25)
    rng = np.random.default_rng(0)
    for k in range(LEVELS):
        log_p_k = math.log(density.cdf((k + 1) / LEVELS) - density.cdf(k / LEVELS))
        u = rng.uniform(size=1000)
        y = np.asarray(dequantize(jnp.full((1000, 1), k), jnp.asarray(u[:, None]), LEVELS))[:, 0]
        log_density = jnp.asarray(density.logpdf(y))
        log_q = log_density - math.log(LEVELS) - log_p_k  # the true conditional's density
        exact = variational_dequantization_bound(log_density, log_q, LEVELS, dims=1)
        np.testing.assert_allclose(exact, log_p_k, atol=1e-9)
        uniform = variational_dequantization_bound(log_density, jnp.zeros(1000), LEVELS, 1)
        np.testing.assert_allclose(uniform, discrete_log_likelihood_bound(log_density, LEVELS, 1))
        assert float(uniform.mean()) < log_p_k


def perturbed(params, scale=0.3):
    """Parameters moved off their initialisation (the couplings' heads start at zero)."""

    def move(path, leaf):
        key = jax.random.fold_in(jax.random.key(9), zlib.crc32(jax.tree_util.keystr(path).encode()))
        return leaf + scale * jax.random.normal(key, leaf.shape)

    return jax.tree_util.tree_map_with_path(move, params)


def test_noise_flow_lies_in_the_unit_cube_with_its_exact_log_density():
    model = VariationalDequantizer(hidden=8, num_steps=2)
    eps = jax.random.logistic(jax.random.key(0), (3, 4, 4, 1))
    x = jax.random.randint(jax.random.key(1), (3, 4, 4, 1), 0, LEVELS) / (LEVELS - 1) - 0.5
    fresh = model.init(jax.random.key(2), eps, x)
    # Fresh, it is uniform dequantization exactly: u = sigmoid(eps) and log q = 0.
    u, log_q = model.apply(fresh, eps, x)
    np.testing.assert_allclose(u, jax.nn.sigmoid(eps), rtol=1e-6)
    np.testing.assert_allclose(log_q, 0.0, atol=1e-4)
    params = perturbed(fresh, scale=0.1)
    u, log_q = jax.jit(model.apply)(params, eps, x)
    assert u.shape == eps.shape and log_q.shape == (3,)
    assert float(u.min()) > 0.0 and float(u.max()) < 1.0
    for i in range(3):

        def noise_to_u(e, i=i):
            return model.apply(params, e.reshape(1, 4, 4, 1), x[i : i + 1])[0].reshape(-1)

        jacobian = jax.jacfwd(noise_to_u)(eps[i].reshape(-1))
        log_logistic = float(stats.logistic.logpdf(np.asarray(eps[i], np.float64)).sum())
        expected = log_logistic - float(jnp.linalg.slogdet(jacobian)[1])
        assert float(log_q[i]) == pytest.approx(expected, rel=1e-4, abs=1e-3)
    # The image conditions the noise: the same eps under another image moves.
    other, _ = model.apply(params, eps, x[::-1])
    assert np.abs(np.asarray(other[0] - u[0])).max() > 1e-3


def test_the_noise_flow_inverts_and_its_density_integrates_to_one():
    # A 1x2 image: u -> eps undoes eps -> u, and q(u | x) integrates to one over (0, 1)^2
    # (the midpoint rule on a 600 x 600 grid; the density vanishes at the edges).
    model = VariationalDequantizer(hidden=4, num_steps=2)
    x = jnp.array([[[[0.5], [-0.5]]]])
    params = perturbed(model.init(jax.random.key(0), jnp.zeros((1, 1, 2, 1)), x), scale=0.1)
    eps = jax.random.logistic(jax.random.key(1), (5, 1, 2, 1))
    xs = jnp.broadcast_to(x, eps.shape)
    u, log_q = model.apply(params, eps, xs)
    back, log_q_back = model.apply(params, u, xs, inverse=True)
    np.testing.assert_allclose(back, eps, atol=2e-4)
    np.testing.assert_allclose(log_q_back, log_q, atol=2e-4)
    centres = (np.arange(600, dtype=np.float32) + 0.5) / 600
    grid = np.stack(np.meshgrid(centres, centres), -1).reshape(-1, 1, 2, 1)
    _, log_q_grid = jax.jit(lambda g: model.apply(params, g, jnp.broadcast_to(x, g.shape),
                                                  inverse=True))(grid)  # fmt: skip
    mass = float(np.exp(np.asarray(log_q_grid, np.float64)).sum()) / 600**2
    assert mass == pytest.approx(1.0, abs=2e-3)
    assert float(np.abs(log_q_grid).max()) > 0.1  # and it is not the uniform density


def test_noise_flow_names_mismatched_shapes():
    model = VariationalDequantizer(hidden=4, num_steps=1)
    with pytest.raises(ValueError, match="one shape"):
        model.init(jax.random.key(0), jnp.zeros((2, 4, 4, 1)), jnp.zeros((2, 4, 4, 2)))
