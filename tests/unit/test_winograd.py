"""The Winograd F(2x2, 3x3) convolution tried for the UNet's speed (benchmarks/winograd_conv.py)
computes XLA's SAME convolution, value and gradients, on even and odd image sides."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from benchmarks.winograd_conv import winograd_conv3x3, xla_conv3x3


@pytest.mark.parametrize("shape", [(2, 8, 8, 3, 5), (1, 7, 9, 4, 2), (3, 1, 2, 2, 3)])
def test_winograd_equals_the_direct_convolution_and_its_gradients(shape):
    batch, height, width, c_in, c_out = shape
    x = jax.random.normal(jax.random.key(0), (batch, height, width, c_in))
    kernel = jax.random.normal(jax.random.key(1), (3, 3, c_in, c_out))
    np.testing.assert_allclose(winograd_conv3x3(x, kernel), xla_conv3x3(x, kernel), atol=2e-5)

    def loss(conv):
        return lambda x, k: jnp.sum(jnp.sin(conv(x, k)))

    ours = jax.grad(loss(winograd_conv3x3), argnums=(0, 1))(x, kernel)
    theirs = jax.grad(loss(xla_conv3x3), argnums=(0, 1))(x, kernel)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=5e-5)
    with pytest.raises(ValueError, match="3x3 kernels"):
        winograd_conv3x3(x, jnp.zeros((5, 5, c_in, c_out)))
