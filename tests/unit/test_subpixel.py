"""The sub-pixel form of the 4x4 / stride-2 transposed convolution equals Flax's."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.nets.subpixel import SubPixelConvTranspose, subpixel_kernel


@pytest.mark.parametrize("shape, features", [((2, 4, 4, 3), 5), ((1, 3, 5, 2), 1)])
def test_matches_flax_conv_transpose(shape, features):
    x = jax.random.normal(jax.random.key(0), shape)
    reference = nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME")
    ours = SubPixelConvTranspose(features)

    @jax.jit
    def both(key):
        variables = reference.init(key, x)
        # Same parameter tree, so either module's variables drive the other.
        assert jax.tree.structure(variables) == jax.tree.structure(ours.init(key, x))
        bias = jax.random.normal(jax.random.fold_in(key, 1), (features,))
        variables = {"params": {**variables["params"], "bias": bias}}
        return reference.apply(variables, x), ours.apply(variables, x)

    expected, got = both(jax.random.key(1))
    assert got.shape == (shape[0], 2 * shape[1], 2 * shape[2], features)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_gradients_match_flax_conv_transpose():
    x = jax.random.normal(jax.random.key(2), (2, 4, 4, 2))
    kernel = jax.random.normal(jax.random.key(3), (4, 4, 2, 3))
    params = {"kernel": kernel, "bias": jnp.zeros(3)}

    def loss(module):
        return lambda p, x: jnp.sum(jnp.sin(module.apply({"params": p}, x)))

    grad = jax.jit(jax.grad(loss(SubPixelConvTranspose(3)), argnums=(0, 1)))
    grad_ref = jax.jit(
        jax.grad(loss(nn.ConvTranspose(3, (4, 4), strides=(2, 2), padding="SAME")), (0, 1))
    )
    got_all, expected_all = grad(params, x), grad_ref(params, x)
    for got, expected in zip(jax.tree.leaves(got_all), jax.tree.leaves(expected_all), strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_every_tap_used_once():
    """Each of the 16 taps lands in exactly one (offset, phase) slot per channel pair."""
    kernel = jnp.arange(16.0).reshape(4, 4, 1, 1) + 1.0
    phased = subpixel_kernel(kernel)
    assert phased.shape == (3, 3, 1, 4)
    values = np.sort(np.asarray(phased).ravel())
    np.testing.assert_array_equal(values[values > 0], np.arange(1.0, 17.0))
    with pytest.raises(ValueError, match="4x4"):
        subpixel_kernel(jnp.zeros((3, 3, 1, 1)))
