"""The fused GroupNorm + SiLU (+ shift) against the Flax composition it replaces."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.nets import UNet
from gensys.nets.group_norm import GroupNormSiLU, group_norm_silu
from gensys.nets.unet import QKVProjection


def _composition(params, x, groups, shift):
    if shift is not None:
        x = x + shift[:, None, None, :]
    return nn.silu(nn.GroupNorm(num_groups=groups).apply(params, x))


def _inputs(c=12, seed=0):
    keys = jax.random.split(jax.random.key(seed), 5)
    # A mean far from zero and unequal channel scales, as after a convolution.
    x = 3.0 + jax.random.normal(keys[0], (2, 5, 6, c)) * jnp.linspace(0.5, 2.0, c)
    params = {"params": {"scale": 1 + 0.3 * jax.random.normal(keys[1], (c,)),
                         "bias": 0.2 * jax.random.normal(keys[2], (c,))}}  # fmt: skip
    shift = jax.random.normal(keys[3], (2, c))
    cotangent = jax.random.normal(keys[4], x.shape)
    return x, params, shift, cotangent


@pytest.mark.parametrize("custom_gradient", [False, True])
@pytest.mark.parametrize("with_shift", [False, True])
@pytest.mark.parametrize("groups", [1, 3, 12])
def test_value_and_gradients_match_flax_group_norm_then_silu(groups, with_shift, custom_gradient):
    x, params, shift, cotangent = _inputs()
    shift = shift if with_shift else None

    def ours(p, x, shift):
        return GroupNormSiLU(groups, custom_gradient=custom_gradient).apply(p, x, shift)

    def flax(p, x, shift):
        return _composition(p, x, groups, shift)

    np.testing.assert_allclose(ours(params, x, shift), flax(params, x, shift), atol=2e-5)

    def grads(f):
        return jax.grad(lambda p, x, s: jnp.sum(f(p, x, s) * cotangent), argnums=(0, 1, 2))(
            params, x, shift
        )

    want_all = grads(flax)
    # With one channel a group the shift's gradient is zero up to rounding: tolerances are
    # relative to the input gradient's scale.
    atol = 1e-4 * float(jnp.abs(want_all[1]).max())
    for got, want in zip(jax.tree.leaves(grads(ours)), jax.tree.leaves(want_all), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=atol)


def test_parameters_are_flax_group_norms():
    x = jnp.ones((1, 4, 4, 8))
    ours = GroupNormSiLU(4).init(jax.random.key(0), x)
    flax = nn.GroupNorm(num_groups=4).init(jax.random.key(0), x)
    assert jax.tree.map(lambda a: (a.shape, a.dtype, float(a.sum())), ours) == jax.tree.map(
        lambda a: (a.shape, a.dtype, float(a.sum())), flax
    )


def test_forward_mode_without_the_custom_gradient_only():
    x, params, shift, direction = _inputs()
    scale, bias = params["params"]["scale"], params["params"]["bias"]

    def f(x, custom):
        return group_norm_silu(x, scale, bias, 3, shift, custom_gradient=custom)

    _, tangent = jax.jvp(lambda v: f(v, False), (x,), (direction,))
    eps = 1e-2
    finite = (f(x + eps * direction, False) - f(x - eps * direction, False)) / (2 * eps)
    np.testing.assert_allclose(tangent, finite, rtol=2e-2, atol=2e-3)
    with pytest.raises(TypeError, match="custom_vjp"):
        jax.jvp(lambda v: f(v, True), (x,), (direction,))


def test_bfloat16_input_keeps_its_dtype_and_float32_statistics():
    x, params, shift, _ = _inputs()
    y = GroupNormSiLU(3, dtype=jnp.bfloat16).apply(params, x, shift)
    assert y.dtype == jnp.bfloat16
    want = _composition(params, x, 3, shift)
    np.testing.assert_allclose(y.astype(jnp.float32), want, atol=0.05, rtol=0.02)


def test_bad_arguments_are_named():
    scale, bias = jnp.ones(6), jnp.zeros(6)
    with pytest.raises(ValueError, match="rank 4"):
        group_norm_silu(jnp.ones((2, 6)), scale, bias, 2)
    with pytest.raises(ValueError, match="must divide the 6 channels"):
        group_norm_silu(jnp.ones((1, 2, 2, 6)), scale, bias, 4)
    with pytest.raises(ValueError, match="scale and bias"):
        group_norm_silu(jnp.ones((1, 2, 2, 6)), jnp.ones(5), bias, 2)
    with pytest.raises(ValueError, match=r"shift must have shape \(1, 6\)"):
        group_norm_silu(jnp.ones((1, 2, 2, 6)), scale, bias, 2, jnp.ones((6,)))


def test_qkv_projection_is_one_dense_layer_split_three_ways():
    y = jax.random.normal(jax.random.key(1), (2, 5, 4))
    dense = nn.Dense(12)
    params = dense.init(jax.random.key(2), y)
    assert jax.tree.map(jnp.shape, QKVProjection(4).init(jax.random.key(2), y)) == jax.tree.map(
        jnp.shape, params
    )
    for ours, theirs in zip(
        jax.tree.leaves(QKVProjection(4).init(jax.random.key(2), y)),
        jax.tree.leaves(params),
        strict=True,
    ):
        np.testing.assert_array_equal(ours, theirs)
    q, k, v = QKVProjection(4).apply(params, y)
    np.testing.assert_allclose(jnp.concatenate([q, k, v], -1), dense.apply(params, y), rtol=1e-6)


def test_unet_keeps_its_parameter_names():
    # Checkpoints written before the fused normalisation must still load.
    net = UNet(channels=8, channel_mults=(1, 2), num_res_blocks=1, attention_resolutions=(4,))
    shapes = jax.eval_shape(net.init, jax.random.key(0), jnp.zeros((1, 8, 8, 1)), jnp.zeros((1,)))
    params = shapes["params"]
    assert set(params["ResBlock_0"]) == {
        "GroupNorm_0",
        "Conv_0",
        "Dense_0",
        "GroupNorm_1",
        "Conv_1",
    }
    assert set(params["ResBlock_0"]["GroupNorm_1"]) == {"scale", "bias"}
    assert set(params["AttentionBlock_0"]) == {"GroupNorm_0", "Dense_0", "Dense_1"}
    assert params["AttentionBlock_0"]["Dense_0"]["kernel"].shape == (16, 48)
    assert set(params["GroupNorm_0"]) == {"scale", "bias"}


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_unet_gradients_agree_with_and_without_the_fast_cpu_gradients():
    kwargs = dict(channels=8, channel_mults=(1, 2), num_res_blocks=1, attention_resolutions=(4,))
    x = jax.random.normal(jax.random.key(1), (2, 8, 8, 1))
    t = jnp.array([3, 700])
    params = jax.jit(UNet(**kwargs).init)(jax.random.key(2), x, t)
    # Move the zero-initialised output layers so every parameter gets a gradient.
    params = jax.jit(lambda q: jax.tree.map(lambda p: p + 0.05, q))(params)

    def grads(fast):
        net = UNet(**kwargs, fast_cpu_gradients=fast)
        return jax.jit(jax.grad(lambda p: jnp.sum(jnp.sin(net.apply(p, x, t)))))(params)

    for got, want in zip(jax.tree.leaves(grads(True)), jax.tree.leaves(grads(False)), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * float(jnp.abs(want).max()))
