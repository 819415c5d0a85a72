"""The patch (im2col) convolution against XLA's: outputs, first and second derivatives."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.nets.dcgan import DCGANDiscriminator
from gensys.nets.patch_conv import PatchConv, conv_as_patches


@pytest.mark.parametrize(
    "kernel, strides, padding, size",
    [((4, 4), (2, 2), "SAME", 8), ((3, 3), (1, 1), "SAME", 7), ((1, 1), (1, 1), "VALID", 5),
     ((3, 2), (2, 1), ((2, 0), (1, 1)), 9), ((4, 4), (2, 2), "VALID", 9)],
)  # fmt: skip
def test_patch_conv_is_flax_conv_with_the_same_variables(kernel, strides, padding, size):
    x = jax.random.normal(jax.random.key(0), (3, size, size + 1, 5))
    flax_conv = nn.Conv(6, kernel, strides=strides, padding=padding)
    patch_conv = PatchConv(6, kernel, strides=strides, padding=padding)
    variables = jax.jit(flax_conv.init)(jax.random.key(1), x)
    assert jax.tree.structure(variables) == jax.tree.structure(
        jax.eval_shape(patch_conv.init, jax.random.key(1), x)
    )

    def penalty(conv, params, inputs):  # the squared input gradient: a second derivative
        grad = jax.grad(lambda z: jnp.sum(jnp.tanh(conv.apply(params, z))))(inputs)
        return jnp.sum(grad**2)

    @jax.jit
    def everything(params, inputs):
        return [
            (conv.apply(params, inputs), jax.grad(penalty, argnums=(1, 2))(conv, params, inputs))
            for conv in (flax_conv, patch_conv)
        ]

    (y_flax, grads_flax), (y_patch, grads_patch) = everything(variables, x)
    np.testing.assert_allclose(y_patch, y_flax, rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.tree.leaves(grads_patch), jax.tree.leaves(grads_flax), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * float(np.max(np.abs(b))))


def test_conv_as_patches_names_a_channel_mismatch():
    with pytest.raises(ValueError, match="x has 3 channels, the kernel takes 2"):
        conv_as_patches(jnp.zeros((1, 4, 4, 3)), jnp.zeros((3, 3, 2, 1)))


@pytest.mark.parametrize("kwargs", [{"norm": "layer"}, {"norm": "none", "spectral_norm": True},
                                    {"norm": "instance", "num_classes": 10}])  # fmt: skip
def test_dcgan_critic_as_patches_has_the_same_penalty_gradient(kwargs):
    from gensys.gan.losses import gradient_penalty

    x = jax.random.normal(jax.random.key(0), (4, 16, 16, 1))
    fake = jax.random.normal(jax.random.key(1), (4, 16, 16, 1))
    mix = jax.random.uniform(jax.random.key(2), (4,))
    labels = (jnp.arange(4) % 10,) if "num_classes" in kwargs else ()
    critic = DCGANDiscriminator(8, **kwargs)
    variables = jax.jit(lambda k: critic.init(k, x, *labels, train=False))(jax.random.key(3))

    @jax.jit
    def both(params):
        def loss(p, module):
            def one(z, *extra):
                return module.apply({**variables, "params": p}, z, *extra, train=True)

            return jnp.mean(gradient_penalty(one, x, fake, mix, *labels))

        return [jax.value_and_grad(loss)(params, m)
                for m in (critic, critic.clone(conv_as_patches=True))]  # fmt: skip

    (value, grads), (patch_value, patch_grads) = both(variables["params"])
    np.testing.assert_allclose(patch_value, value, rtol=1e-5)
    # One absolute scale for all: a bias that instance norm cancels has a rounding-noise
    # gradient (~1e-7), which only the largest gradient puts in proportion.
    scale = max(float(np.max(np.abs(b))) for b in jax.tree.leaves(grads))
    for a, b in zip(jax.tree.leaves(patch_grads), jax.tree.leaves(grads), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-5 * scale)
