"""Rational-quadratic splines: identity at zero, exact inverse, log-derivatives equal to
autodiff's, monotone, safe exactly at and next to every knot, and a density that
integrates to one."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gensys.flows import checkerboard_mask, num_spline_params, rational_quadratic_spline
from gensys.flows.splines import _knots, spline_coupling

BINS = 5
BOUND = 3.0


def random_params(seed, shape, scale=2.0):
    key = jax.random.key(seed)
    return scale * jax.random.normal(key, (*shape, num_spline_params(BINS)))


def forward_scalar(x, params):
    return rational_quadratic_spline(x, params, bound=BOUND)[0]


def test_zero_parameters_are_the_identity():
    x = jnp.linspace(-5.0, 5.0, 41)
    y, log_det = rational_quadratic_spline(x, jnp.zeros((41, num_spline_params(BINS))))
    np.testing.assert_allclose(y, x, atol=1e-6)
    np.testing.assert_allclose(log_det, 0.0, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inverse_and_log_derivatives_match_autodiff(seed):
    x = jnp.linspace(-4.0, 4.0, 801)  # both tails and every bin
    params = random_params(seed, x.shape)
    y, log_det = rational_quadratic_spline(x, params, bound=BOUND)
    back, inverse_log_det = rational_quadratic_spline(y, params, bound=BOUND, inverse=True)
    # Where the map is flat, float32 rounding of y is amplified by dx/dy in x: the
    # inverse is exact in y (the residual), and in x up to that conditioning.
    again, log_det_again = rational_quadratic_spline(back, params, bound=BOUND)
    steepness = np.exp(np.asarray(log_det_again))  # x's rounding, amplified the other way
    assert np.all(np.abs(np.asarray(again - y)) <= 1e-5 * (1.0 + steepness))
    conditioning = np.exp(-np.asarray(log_det))
    assert np.all(np.abs(np.asarray(back - x)) <= 1e-4 + 1e-5 * conditioning)
    assert np.all(np.abs(np.asarray(log_det + inverse_log_det)) <= 5e-3 + 1e-5 * conditioning)
    slope = jax.jit(jax.vmap(jax.grad(forward_scalar)))(x, params)
    np.testing.assert_allclose(log_det, jnp.log(slope), atol=2e-4)
    one = jnp.broadcast_to(params[0], params.shape)  # a single spline over the whole line
    assert np.all(np.diff(np.asarray(rational_quadratic_spline(x, one)[0])) >= 0)  # monotone
    outside = np.abs(np.asarray(x)) > BOUND
    np.testing.assert_array_equal(np.asarray(y)[outside], np.asarray(x)[outside])  # tails


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    scale=st.floats(0.0, 6.0),
    offset=st.sampled_from([-1e-6, 0.0, 1e-6]),
)
def test_safe_exactly_at_and_next_to_each_knot(seed, scale, offset):
    params = random_params(seed, (), scale=scale)
    xs = _knots(params[:BINS], BOUND)
    ys = _knots(params[BINS : 2 * BINS], BOUND)
    x = xs + offset
    y, log_det = rational_quadratic_spline(x, jnp.broadcast_to(params, (*x.shape, params.size)))
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(log_det))
    np.testing.assert_allclose(y, ys + offset * np.exp(log_det), atol=1e-5)  # knots map to knots
    back, _ = rational_quadratic_spline(
        ys, jnp.broadcast_to(params, (*ys.shape, params.size)), inverse=True
    )
    np.testing.assert_allclose(back, xs, atol=1e-5)


def test_density_of_a_spline_flow_integrates_to_one():
    # x = spline(z), z ~ N(0, 1): p(x) = N(z(x)) |dz/dx|.
    grid = jnp.linspace(-12.0, 12.0, 480_001)  # fine: the steepest bins are narrow
    params = jnp.broadcast_to(random_params(3, ()), (*grid.shape, num_spline_params(BINS)))
    z, log_det = rational_quadratic_spline(grid, params, inverse=True)
    density = jnp.exp(jax.scipy.stats.norm.logpdf(z) + log_det)
    assert float(jnp.trapezoid(density, grid)) == pytest.approx(1.0, abs=1e-4)


def test_spline_coupling_passes_the_masked_half_and_inverts():
    mask = checkerboard_mask((4, 4, 1), 0)

    def conditioner(masked):
        # Any function of the passed-through half: here a fixed random mix of it.
        mixed = jnp.tanh(masked.reshape(masked.shape[0], -1) @ jnp.ones((16, 16)) * 0.3)
        return 2.0 * jnp.sin(mixed.reshape(*masked.shape, 1) * jnp.arange(1, 15.0))

    bijector = spline_coupling(mask, conditioner)
    x = jax.random.normal(jax.random.key(0), (3, 4, 4, 1)) * 2.0
    y, log_det = jax.jit(bijector.forward_and_log_det)(x)
    np.testing.assert_array_equal(np.asarray(y)[:, mask > 0], np.asarray(x)[:, mask > 0])
    back, inverse_log_det = jax.jit(bijector.inverse_and_log_det)(y)
    np.testing.assert_allclose(back, x, atol=1e-4)
    np.testing.assert_allclose(log_det + inverse_log_det, 0.0, atol=1e-4)
    jacobian = jax.jit(jax.jacfwd(lambda v: bijector.forward(v[None])[0]))(x[0])
    sign, expected = jnp.linalg.slogdet(jacobian.reshape(16, 16))
    assert sign > 0 and float(log_det[0]) == pytest.approx(float(expected), abs=1e-3)


def test_bad_parameter_shapes_are_named():
    with pytest.raises(ValueError, match=r"params must have shape \[\*x.shape, 3K - 1\]"):
        rational_quadratic_spline(jnp.zeros(3), jnp.zeros((3, 13)))
    with pytest.raises(ValueError, match="num_bins must be >= 1"):
        num_spline_params(0)
