"""``conv2d`` / ``tap_conv.Conv`` equal XLA's convolution and ``nn.Conv``: values and gradients.

``conv2d`` keeps ``lax.conv_general_dilated``'s value and replaces only its backward pass
on the CPU (per-tap matrix products or XLA's own for the kernel, a flipped convolution
for the input); it must agree with XLA's gradients to float32 rounding, under ``jit`` and
``vmap``, and ``tap_conv.Conv`` must have ``nn.Conv``'s parameters (so checkpoints load in either).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.nets.tap_conv import Conv, conv2d
from gensys.nets.unet import UNet


def fast_conv2d(x, kernel, stride=1):
    return conv2d(x, kernel, stride, fast_cpu_gradients=True)


def _xla_conv(x, kernel, stride):
    return jax.lax.conv_general_dilated(
        x, kernel, (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )


@pytest.mark.parametrize(
    "size,c_in,c_out,kernel,stride",
    [(8, 3, 5, 3, 1), (8, 3, 5, 3, 2), (7, 2, 4, 3, 2), (6, 4, 3, 1, 1), (9, 2, 3, 4, 2),
     (6, 2, 3, 5, 1), (6, 3, 2, 2, 1)],
)  # fmt: skip
@pytest.mark.parametrize("kernel_gradient", ["taps", "xla"])
def test_conv2d_value_and_gradients_match_xla(size, c_in, c_out, kernel, stride, kernel_gradient):
    kx, kw, kc = jax.random.split(jax.random.key(0), 3)
    x = jax.random.normal(kx, (2, size, size, c_in))
    w = jax.random.normal(kw, (kernel, kernel, c_in, c_out))
    cotangent = jax.random.normal(kc, _xla_conv(x, w, stride).shape)

    def loss(conv):
        return lambda x, w: jnp.sum(jnp.sin(conv(x, w, stride)) * cotangent)

    def fast(x, w, stride):
        return conv2d(x, w, stride, fast_cpu_gradients=True, kernel_gradient=kernel_gradient)

    ours = jax.jit(jax.value_and_grad(loss(fast), argnums=(0, 1)))(x, w)
    reference = jax.jit(jax.value_and_grad(loss(_xla_conv), argnums=(0, 1)))(x, w)
    np.testing.assert_allclose(ours[0], reference[0], rtol=1e-5)
    for got, want in zip(ours[1], reference[1], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_conv2d_kernel_gradient_under_vmap():
    x = jax.random.normal(jax.random.key(1), (3, 2, 6, 6, 2))
    w = jax.random.normal(jax.random.key(2), (3, 3, 2, 4))
    batched = jax.vmap(lambda xi: jax.grad(lambda k: jnp.sum(fast_conv2d(xi, k) ** 2))(w))(x)
    reference = jax.vmap(lambda xi: jax.grad(lambda k: jnp.sum(_xla_conv(xi, k, 1) ** 2))(w))(x)
    np.testing.assert_allclose(batched, reference, rtol=1e-4, atol=1e-4)


def test_conv2d_rejects_unsupported_strides_and_shapes():
    with pytest.raises(ValueError, match="stride"):
        conv2d(jnp.zeros((1, 4, 4, 2)), jnp.zeros((3, 3, 2, 2)), stride=3)
    with pytest.raises(ValueError, match="matching C"):
        conv2d(jnp.zeros((1, 4, 4, 2)), jnp.zeros((3, 3, 3, 2)))
    with pytest.raises(ValueError, match="kernel_gradient must be one of"):
        conv2d(jnp.zeros((1, 4, 4, 2)), jnp.zeros((3, 3, 2, 2)), kernel_gradient="winograd")


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("strides", [(1, 1), (2, 2)])
def test_conv_layer_has_nn_conv_parameters_and_output(strides, fast):
    x = jax.random.normal(jax.random.key(3), (2, 8, 8, 3))
    flax_conv = nn.Conv(4, (3, 3), strides=strides)
    params = flax_conv.init(jax.random.key(4), x)
    ours = Conv(4, (3, 3), strides=strides, fast_cpu_gradients=fast)
    assert jax.tree.map(jnp.shape, ours.init(jax.random.key(4), x)) == jax.tree.map(
        jnp.shape, params
    )
    np.testing.assert_allclose(ours.apply(params, x), flax_conv.apply(params, x), rtol=1e-5)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_forward_mode_through_the_unet():
    # jax.jvp through the default UNet (XLA's convolutions) matches a finite difference;
    # the fast CPU gradients are the explicit option that gives forward mode up.
    net = UNet(channels=4, channel_mults=(1,), num_res_blocks=1)
    x = jax.random.normal(jax.random.key(5), (1, 4, 4, 1))
    t = jnp.array([10])
    params = jax.jit(net.init)(jax.random.key(6), x, t)
    # Perturb the zero-initialised last layers so the output depends on the input.
    params = jax.jit(lambda q: jax.tree.map(lambda p: p + 0.05 * jnp.ones_like(p), q))(params)
    direction = jax.random.normal(jax.random.key(7), x.shape)
    out, tangent = jax.jvp(lambda v: net.apply(params, v, t), (x,), (direction,))
    eps = 1e-2
    finite = net.apply(params, x + eps * direction, t) - net.apply(params, x - eps * direction, t)
    np.testing.assert_allclose(tangent, finite / (2 * eps), rtol=2e-2, atol=2e-3)
    fast = UNet(channels=4, channel_mults=(1,), num_res_blocks=1, fast_cpu_gradients=True)
    with pytest.raises(TypeError, match="custom_vjp"):
        jax.jvp(lambda v: fast.apply(params, v, t), (x,), (direction,))
