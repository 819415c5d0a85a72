"""Bijectors: round trips, log-dets against autodiff, chains, couplings, dequantization."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gensys import flows
from gensys.distributions import normal_log_prob
from gensys.nets.flows import Coupling

KEY = jax.random.key(0)


def conditioner(x):
    """A fixed nonlinear conditioner of the masked input (any function keeps invertibility)."""
    h = jnp.tanh(x * 1.3 + 0.2)
    shift = jnp.roll(h, 1, axis=-1) * 0.7 + jnp.sum(h, axis=(1, 2, 3), keepdims=True) * 0.1
    return shift, 0.5 * jnp.sin(2.0 * jnp.roll(x, 1, axis=1) + 0.3)


def bijectors():
    lu = flows.lu_conv1x1_init(jax.random.key(1), 3)
    shape = (4, 4, 3)
    return {
        "actnorm": flows.actnorm(jnp.array([0.3, -0.2, 0.1]), jnp.array([1.0, -0.5, 0.0])),
        "conv1x1": flows.lu_conv1x1(
            lu["permutation"], lu["lower"] + 0.1, lu["upper"] - 0.2, lu["sign"], lu["log_s"] + 0.3
        ),
        "squeeze": flows.squeeze(),
        "logit": flows.logit_preprocessing(0.05),
        "shift": flows.shift(0.5),
        "affine_checkerboard": flows.affine_coupling(
            flows.checkerboard_mask(shape, 1), conditioner
        ),
        "affine_channel": flows.affine_coupling(flows.channel_mask(shape, 0), conditioner),
        "additive": flows.additive_coupling(
            flows.channel_mask(shape, 1), lambda x: conditioner(x)[0]
        ),
    }


def inputs(name, direction):
    """A valid input for ``direction`` of bijector ``name``."""
    shape = (2, 2, 2, 12) if (name, direction) == ("squeeze", "inverse") else (2, 4, 4, 3)
    if (name, direction) == ("logit", "inverse"):  # data in (0, 1)
        return jax.random.uniform(KEY, shape, minval=0.01, maxval=0.99)
    return jax.random.normal(KEY, shape)


@pytest.mark.parametrize("direction", ["forward", "inverse"])
@pytest.mark.parametrize("name", sorted(bijectors()))
def test_round_trip_and_log_det_against_autodiff(name, direction):
    bijector, x = bijectors()[name], inputs(name, direction)
    other = "inverse" if direction == "forward" else "forward"
    there = getattr(bijector, f"{direction}_and_log_det")
    back = getattr(bijector, f"{other}_and_log_det")
    y, log_det = jax.jit(there)(x)
    x_back, log_det_back = jax.jit(back)(y)
    np.testing.assert_allclose(x_back, x, atol=1e-5)
    np.testing.assert_allclose(log_det + log_det_back, 0.0, atol=1e-4)

    def flat(v):
        return there(v.reshape(1, *x.shape[1:]))[0].reshape(-1)

    for i in range(x.shape[0]):
        sign, log_abs = jnp.linalg.slogdet(jax.jacfwd(flat)(x[i].reshape(-1)))
        assert sign != 0
        assert float(log_abs) == pytest.approx(float(log_det[i]), abs=1e-3, rel=1e-5)


def test_chain_log_det_is_the_sum_of_its_parts_and_runs_in_order():
    parts = bijectors()
    a, b, c = parts["actnorm"], parts["affine_checkerboard"], parts["conv1x1"]
    x = inputs("actnorm", "forward")
    y, log_det = flows.chain(a, b, c).forward_and_log_det(x)
    h1, l1 = a.forward_and_log_det(x)
    h2, l2 = b.forward_and_log_det(h1)
    h3, l3 = c.forward_and_log_det(h2)
    np.testing.assert_allclose(y, h3, rtol=1e-6)
    np.testing.assert_allclose(log_det, l1 + l2 + l3, rtol=1e-5)
    back, log_det_back = flows.chain(a, b, c).inverse_and_log_det(y)
    np.testing.assert_allclose(back, x, atol=1e-5)
    np.testing.assert_allclose(log_det_back, -log_det, rtol=1e-5)
    inverse = flows.invert(flows.chain(a, b, c))
    np.testing.assert_allclose(inverse.forward(y), x, atol=1e-5)


@given(
    seed=st.integers(0, 2**16),
    scale=st.floats(0.1, 3.0),
    parity=st.integers(0, 1),
    kind=st.sampled_from(["checkerboard", "channel"]),
)
@settings(max_examples=20, deadline=None)
def test_coupling_round_trip_for_random_conditioners(seed, scale, parity, kind):
    k1, k2, k3 = jax.random.split(jax.random.key(seed), 3)
    w = jax.random.normal(k1, (3, 6)) * scale
    shape = (4, 4, 3)
    mask = (flows.checkerboard_mask if kind == "checkerboard" else flows.channel_mask)(
        shape, parity
    )

    def random_conditioner(x):
        out = jnp.tanh(x @ w)
        return out[..., :3] * scale, out[..., 3:]

    bijector = flows.affine_coupling(mask, random_conditioner)
    x = jax.random.normal(k2, (3, *shape)) * scale
    y, log_det = bijector.forward_and_log_det(x)
    back, log_det_back = bijector.inverse_and_log_det(y)
    np.testing.assert_allclose(back, x, atol=1e-5 * max(1.0, scale * 5))
    np.testing.assert_allclose(log_det + log_det_back, 0.0, atol=1e-4)
    # The masked part passes through untouched.
    np.testing.assert_array_equal(np.asarray(y) * mask, np.asarray(x) * mask)


def test_masks():
    board = flows.checkerboard_mask((2, 2, 1), 0)[..., 0]
    np.testing.assert_array_equal(board, [[1, 0], [0, 1]])
    np.testing.assert_array_equal(flows.channel_mask((1, 1, 4), 1)[0, 0], [0, 0, 1, 1])
    with pytest.raises(ValueError, match="at least 2 channels"):
        flows.channel_mask((4, 4, 1), 0)


@pytest.mark.parametrize("mask_kind, hidden", [("checkerboard", 8), ("channel", (8, 8))])
def test_zero_initialised_coupling_is_the_identity(mask_kind, hidden):
    x = jax.random.normal(KEY, (2, 4, 4, 2))
    layer = Coupling(mask_kind, 0, hidden)
    params = layer.init(KEY, x, inverse=True)
    for inverse in (False, True):
        y, log_det = layer.apply(params, x, inverse=inverse)
        np.testing.assert_array_equal(y, x)
        np.testing.assert_array_equal(log_det, 0.0)


def test_actnorm_data_init_normalises_the_real_examples():
    x = 3.0 + 2.0 * jax.random.normal(KEY, (64, 4, 4, 3))
    padded = jnp.concatenate([x, jnp.full((8, 4, 4, 3), 100.0)])
    weights = jnp.concatenate([jnp.ones(64), jnp.zeros(8)])
    log_scale, bias = flows.actnorm_data_init(padded, weights)
    z = flows.actnorm(log_scale, bias).inverse(x)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0.0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 1, 2)), 1.0, atol=1e-4)


def test_conv1x1_init_is_a_rotation():
    lu = flows.lu_conv1x1_init(KEY, 4)
    bijector = flows.lu_conv1x1(**lu)
    eye = jnp.eye(4).reshape(4, 1, 1, 4)
    weight = bijector.inverse(eye).reshape(4, 4)
    np.testing.assert_allclose(weight @ weight.T, np.eye(4), atol=1e-5)
    np.testing.assert_allclose(bijector.inverse_and_log_det(eye)[1], 0.0, atol=1e-5)


def test_squeeze_moves_each_2x2_block_into_channels():
    x = jnp.arange(16.0).reshape(1, 4, 4, 1)
    y = flows.squeeze().forward(x)
    assert y.shape == (1, 2, 2, 4)
    np.testing.assert_array_equal(y[0, 0, 0], [0, 1, 4, 5])
    with pytest.raises(ValueError, match="divisible by 2"):
        flows.squeeze().forward(jnp.zeros((1, 3, 4, 1)))


def test_flow_distribution_of_the_identity_is_the_standard_normal():
    identity = flows.shift(0.0)
    flow = flows.FlowDistribution(identity, (2, 2, 1))
    x = jax.random.normal(KEY, (5, 2, 2, 1))
    expected = normal_log_prob(x, 0.0, 0.0).reshape(5, -1).sum(-1)
    np.testing.assert_allclose(flow.log_prob(x), expected, rtol=1e-6)
    samples = flow.sample(KEY, 4000, temperature=0.5)
    assert samples.shape == (4000, 2, 2, 1)
    assert float(samples.std()) == pytest.approx(0.5, abs=0.02)
    with pytest.raises(ValueError, match="shape"):
        flow.log_prob(jnp.zeros((5, 4)))


def test_uniform_model_over_256_levels_is_exactly_8_bits_per_dim():
    # A flow that is uniform on [0, 1)^D has log density 0 there.
    dims = 28 * 28
    nll = -flows.discrete_log_likelihood_bound(jnp.zeros(3), 256, dims)
    np.testing.assert_allclose(flows.bits_per_dim(nll, dims), 8.0, rtol=1e-6)
    levels = jnp.array([[0, 255], [17, 128]], jnp.int32)
    y = flows.uniform_dequantize(KEY, levels, 256)
    assert bool(jnp.all((y >= levels / 256) & (y < (levels + 1) / 256)))
    with pytest.raises(TypeError, match="integer"):
        flows.uniform_dequantize(KEY, levels.astype(jnp.float32), 256)


def test_logit_preprocessing_log_det_matches_its_formula():
    y = jnp.array([[0.1, 0.5, 0.9]])
    alpha = 0.05
    _, log_det = flows.logit_preprocessing(alpha).inverse_and_log_det(y)
    p = alpha + (1 - 2 * alpha) * np.array([0.1, 0.5, 0.9])
    expected = np.sum(np.log(1 - 2 * alpha) - np.log(p) - np.log(1 - p))
    assert float(log_det[0]) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="alpha"):
        flows.logit_preprocessing(0.5)
    assert math.isfinite(float(log_det[0]))


def test_weight_decay_spares_the_fixed_parts_of_the_lu_convolution():
    from gensys.recipes.flow import decayed
    from gensys.recipes.state import make_optimizer

    lu = flows.lu_conv1x1_init(KEY, 3)
    params = {"params": {"step0_conv1x1": {"lu": lu}, "step0_actnorm": {"bias": jnp.ones(3)}}}
    optimizer = make_optimizer(1e-2, weight_decay=0.5, weight_decay_mask=decayed)
    state = optimizer.init(params)
    zero_grads = jax.tree.map(jnp.zeros_like, params)
    updates, _ = optimizer.update(zero_grads, state, params)
    new = jax.tree.map(lambda p, u: p + u, params, updates)
    fixed, moved = new["params"]["step0_conv1x1"]["lu"], new["params"]["step0_actnorm"]["bias"]
    np.testing.assert_array_equal(fixed["permutation"], lu["permutation"])
    np.testing.assert_array_equal(fixed["sign"], lu["sign"])
    assert float(moved[0]) < 1.0  # the decay does act on the others
