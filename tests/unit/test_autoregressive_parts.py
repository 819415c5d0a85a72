"""The autoregressive building blocks: categorical log-likelihoods, discretized mixtures
over the levels, MADE and raster masks, and the two ancestral samplers on networks whose
answer is known."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from gensys.autoregressive import made_masks, raster_kernel_mask, sample_by_rerunning
from gensys.autoregressive.sampling import sample_with_cache
from gensys.distributions import (
    bits_per_dim,
    categorical_log_prob,
    discretized_logistic_log_likelihood,
    discretized_mixture_level_log_probs,
)

KEY = jax.random.key(0)


def test_categorical_log_prob_picks_the_log_softmax_of_each_level():
    logits = jax.random.normal(KEY, (2, 3, 5))
    x = jnp.array([[0, 4, 2], [1, 1, 3]])
    expected = np.take_along_axis(np.asarray(jax.nn.log_softmax(logits)), x[..., None], -1)
    np.testing.assert_allclose(categorical_log_prob(x, logits), expected[..., 0], rtol=1e-6)
    # Uniform logits over L levels: D log L nats, log2 L bits per dimension.
    nll = -categorical_log_prob(jnp.zeros((7,), jnp.int32), jnp.zeros((7, 17))).sum()
    assert float(bits_per_dim(nll, 7)) == pytest.approx(np.log2(17), rel=1e-6)


def test_categorical_log_prob_rejects_bad_input():
    with pytest.raises(TypeError, match="x must have an integer dtype"):
        categorical_log_prob(jnp.zeros((3,)), jnp.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"logits must have shape x.shape \+ \(L,\)"):
        categorical_log_prob(jnp.zeros((3,), jnp.int32), jnp.zeros((4, 2)))


def test_made_masks_connect_each_output_to_earlier_inputs_only():
    dims, hidden = 6, (16, 12)
    orders, masks = made_masks(dims, hidden, 4, order_agnostic=True, seed=3)
    np.testing.assert_array_equal(orders[0], np.arange(dims))
    assert len({tuple(o) for o in orders}) > 1  # random orderings beyond the first
    for k in range(4):
        # Input-to-output connectivity: the product of the masks.
        paths = masks[0][k] @ masks[1][k] @ masks[2][k]
        position = np.empty(dims, int)
        position[orders[k]] = np.arange(dims)
        reachable = paths > 0
        earlier = position[:, None] < position[None, :]
        assert not np.any(reachable & ~earlier)
    again = made_masks(dims, hidden, 4, order_agnostic=True, seed=3)
    np.testing.assert_array_equal(again[1][1], masks[1])


def test_made_masks_reject_bad_arguments():
    with pytest.raises(ValueError, match="num_inputs must be >= 2"):
        made_masks(1, (4,))
    with pytest.raises(ValueError, match="hidden must list"):
        made_masks(4, ())


def test_raster_kernel_masks_see_the_past_only():
    a = raster_kernel_mask((3, 3), "A")[:, :, 0, 0]
    b = raster_kernel_mask((3, 3), "B")[:, :, 0, 0]
    np.testing.assert_array_equal(a, [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(b, [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    with pytest.raises(ValueError, match="mask_type must be one of"):
        raster_kernel_mask((3, 3), "C")
    with pytest.raises(ValueError, match="odd sides"):
        raster_kernel_mask((2, 3), "A")


def test_channel_masks_order_r_then_g_then_b():
    """Image channels R, G, B in, 6 features out (groups R G B R G B): at the centre tap
    type A lets G see R and B see R and G; type B adds each group's own channel; off the
    centre every channel reaches every feature."""
    a = raster_kernel_mask((3, 3), "A", num_in=3, num_out=6, channels=3)
    b = raster_kernel_mask((3, 3), "B", num_in=3, num_out=6, channels=3)
    r, g, b_ = [1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 0, 1]
    seen_by = {"R": np.array(r), "G": np.array(g), "B": np.array(b_)}
    # Rows: input channel; columns: output feature. Type A: R feeds G and B, G feeds B.
    np.testing.assert_array_equal(a[1, 1], [seen_by["G"] + seen_by["B"], seen_by["B"], np.zeros(6)])
    np.testing.assert_array_equal(b[1, 1], [np.ones(6), seen_by["G"] + seen_by["B"], seen_by["B"]])
    assert np.all(a[0] == 1) and np.all(a[1, 0] == 1) and np.all(a[2] == 0) and np.all(a[1, 2] == 0)
    # One channel: the spatial masks of before.
    np.testing.assert_array_equal(raster_kernel_mask((3, 3), "A", 4, 5, 1)[1, 1], np.zeros((4, 5)))
    np.testing.assert_array_equal(raster_kernel_mask((3, 3), "B", 4, 5, 1)[1, 1], np.ones((4, 5)))


def copy_previous_logits(levels):
    """A known autoregressive 'network' over 3 levels: pixel i copies pixel i-1 (pixel 0
    is level 2), with certainty."""
    flat = levels.reshape(levels.shape[0], -1)
    previous = jnp.concatenate([jnp.full_like(flat[:, :1], 2), flat[:, :-1]], axis=1)
    return (100.0 * jax.nn.one_hot(previous, 3)).reshape(*levels.shape, 3)


def test_samplers_follow_the_conditionals_and_keep_the_given_pixels():
    shape = (2, 3, 1)
    drawn = jax.jit(lambda k: sample_by_rerunning(k, copy_previous_logits, 4, shape))(KEY)
    np.testing.assert_array_equal(drawn, np.full((4, *shape), 2))
    prefix = jnp.zeros((4, *shape), jnp.int32).at[:, 0, 1, 0].set(1)
    completed = sample_by_rerunning(KEY, copy_previous_logits, 4, shape, prefix=prefix,
                                    num_given=2)  # fmt: skip
    np.testing.assert_array_equal(completed.reshape(4, -1), [[0, 1, 1, 1, 1, 1]] * 4)

    def step(cache, t, previous):
        previous = jnp.where(t > 0, previous, 2)
        return 100.0 * jax.nn.one_hot(previous, 3), cache

    cached = sample_with_cache(KEY, step, (), 4, shape, prefix=prefix, num_given=2)
    np.testing.assert_array_equal(cached, completed)


def test_sampling_in_a_given_order():
    """Reversed order: the last pixel is drawn first, from the copy network seen backwards."""

    def copy_next(levels):
        return copy_previous_logits(levels[:, ::-1])[:, ::-1]

    order = jnp.arange(5)[::-1]
    prefix = jnp.zeros((3, 5, 1, 1), jnp.int32).at[:, 4].set(1)
    drawn = sample_by_rerunning(KEY, copy_next, 3, (5, 1, 1), order=order, prefix=prefix,
                                num_given=1)  # fmt: skip
    np.testing.assert_array_equal(drawn[..., 0, 0], np.ones((3, 5)))


def test_completion_refuses_given_levels_outside_the_model():
    # Before, a given level 7 of a 3-level model went into the samples and the network.
    shape = (2, 3, 1)
    prefix = jnp.zeros((4, *shape), jnp.int32).at[1, 0, 0, 0].set(7)

    def step(cache, t, previous):
        return 100.0 * jax.nn.one_hot(jnp.where(t > 0, previous, 2), 3), cache

    with pytest.raises(ValueError, match=r"prefix: the 2 given pixels must be levels in \[0, 3\), "
                                         r"got min 0 and max 7 \(1 of 4 images\)"):  # fmt: skip
        sample_by_rerunning(KEY, copy_previous_logits, 4, shape, prefix=prefix, num_given=2)
    with pytest.raises(ValueError, match=r"must be levels in \[0, 3\)"):
        sample_with_cache(KEY, step, (), 4, shape, prefix=prefix, num_given=2)
    # A level beyond the given pixels is not part of the prefix: no error.
    sample_with_cache(KEY, step, (), 4, shape, prefix=prefix.at[1, 0, 0, 0].set(0).at[:, 1].set(9),
                      num_given=2)  # fmt: skip
    # Under jit the values are unknown: the image with the bad prefix comes back as -1.
    jitted = jax.jit(lambda p: sample_by_rerunning(KEY, copy_previous_logits, 4, shape, prefix=p,
                                                   num_given=2))(prefix)  # fmt: skip
    assert np.all(np.asarray(jitted[1]) == -1) and np.all(np.asarray(jitted)[[0, 2, 3]] >= 0)
    cached = jax.jit(lambda p: sample_with_cache(KEY, step, (), 4, shape, prefix=p,
                                                 num_given=2))(prefix)  # fmt: skip
    assert np.all(np.asarray(cached[1]) == -1) and np.all(np.asarray(cached)[[0, 2, 3]] >= 0)


# One compiled program per (levels, components, kind) instead of an eager compile per
# operation and shape: the same function, tested in 3.6 s instead of 13.3 s.
_level_log_probs = jax.jit(discretized_mixture_level_log_probs, static_argnums=(1, 2))


@settings(max_examples=30, deadline=None)
@given(
    levels=st.sampled_from([2, 3, 17, 256]),
    components=st.integers(1, 4),
    spread=st.floats(0.1, 4.0),
    kind=st.sampled_from(["logistic", "gaussian"]),
)
def test_a_discretized_mixture_is_a_distribution_over_the_levels(levels, components, spread,
                                                                 kind):  # fmt: skip
    params = spread * jax.random.normal(jax.random.key(components), (3, 3 * components))
    log_p = np.asarray(_level_log_probs(params, levels, kind), np.float64)
    assert log_p.shape == (3, levels) and np.all(np.isfinite(log_p))
    np.testing.assert_allclose(np.exp(log_p).sum(-1), 1.0, atol=2e-5)


def test_a_discretized_mixture_matches_its_cdf_differences():
    # Two logistic components, 17 levels: P(k) from scipy's CDFs in float64.
    weights, means, log_scales = np.array([0.3, 0.7]), np.array([-0.4, 0.5]), np.log([0.1, 0.3])
    params = jnp.asarray(np.concatenate([np.log(weights), means, log_scales]), jnp.float32)
    edges = np.concatenate([[-np.inf], np.linspace(-1, 1, 17)[:-1] + 1 / 16, [np.inf]])
    cdf = sum(w * stats.logistic.cdf(edges, m, np.exp(s))
              for w, m, s in zip(weights, means, log_scales, strict=True))  # fmt: skip
    expected = np.log(np.diff(cdf))
    got = discretized_mixture_level_log_probs(params, 17, "logistic")
    np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)
    # One component is the single discretized logistic.
    one = discretized_mixture_level_log_probs(jnp.array([0.0, 0.2, -1.5]), 17, "logistic")
    levels = jnp.linspace(-1.0, 1.0, 17)
    single = discretized_logistic_log_likelihood(levels, jnp.full(17, 0.2), jnp.full(17, -1.5), 17)
    np.testing.assert_allclose(one, single, rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="3K values"):
        discretized_mixture_level_log_probs(jnp.zeros(4), 17)
