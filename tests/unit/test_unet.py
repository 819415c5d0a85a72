"""UNet shapes, conditioning and initial state (tiny widths, 8x8 inputs)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.nets import UNet, sinusoidal_embedding
from gensys.nets.unet import num_groups


def test_sinusoidal_embedding_is_float32_and_distinguishes_999_from_1000():
    emb = sinusoidal_embedding(jnp.array([999, 1000], jnp.int32), 16)
    assert emb.shape == (2, 16) and emb.dtype == jnp.float32
    assert not np.allclose(emb[0], emb[1])
    with pytest.raises(ValueError, match="even"):
        sinusoidal_embedding(jnp.zeros((2,)), 7)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
@pytest.mark.parametrize("classes", [None, 10])
def test_unet_shapes_and_zero_initial_output(classes):
    net = UNet(
        channels=8,
        channel_mults=(1, 2),
        num_res_blocks=1,
        attention_resolutions=(4,),
        num_classes=classes,
    )
    x = jax.random.normal(jax.random.key(0), (2, 8, 8, 3))
    t = jnp.array([3, 500], jnp.int32)
    labels = None if classes is None else jnp.array([1, 7], jnp.int32)
    params = jax.jit(net.init)(jax.random.key(1), x, t, labels)
    out = jax.jit(net.apply)(params, x, t, labels)
    assert out.shape == x.shape and out.dtype == jnp.float32
    np.testing.assert_array_equal(out, 0.0)  # zero-initialised output convolution
    if classes is not None:
        # Perturb the output layer so the label path becomes visible in the output.
        params = jax.tree.map(lambda p: p + 0.01, params)
        apply = jax.jit(net.apply)  # eager Flax calls compile op by op: slow on CPU
        a = apply(params, x, t, jnp.array([1, 7], jnp.int32))
        b = apply(params, x, t, jnp.array([2, 7], jnp.int32))
        assert np.abs(a[0] - b[0]).max() > 1e-3 and np.allclose(a[1], b[1])


def test_unet_rejects_bad_input():
    net = UNet(channels=8, channel_mults=(1, 2, 2, 2), num_res_blocks=1)
    with pytest.raises(ValueError, match="must be divisible by 8"):
        net.init(jax.random.key(0), jnp.zeros((1, 12, 12, 1)), jnp.zeros((1,), jnp.int32))
    with pytest.raises(ValueError, match="NHWC"):
        net.init(jax.random.key(0), jnp.zeros((1, 8, 8)), jnp.zeros((1,), jnp.int32))


def test_group_norm_groups_keep_several_channels_each():
    assert [num_groups(c) for c in (8, 32, 64, 96, 128, 256)] == [2, 8, 16, 24, 32, 32]
    assert num_groups(3) == 1 and num_groups(12) == 3


def test_time_embedding_reaches_the_output():
    # A per-channel shift in a one-channel group would be normalised away.
    net = UNet(channels=8, channel_mults=(1, 2), num_res_blocks=1)
    x = jax.random.normal(jax.random.key(0), (2, 8, 8, 1))
    params = jax.tree.map(
        lambda p: p + 0.01, jax.jit(net.init)(jax.random.key(1), x, jnp.zeros((2,), jnp.int32))
    )
    apply = jax.jit(net.apply)
    a = apply(params, x, jnp.array([0, 0], jnp.int32))
    b = apply(params, x, jnp.array([0, 900], jnp.int32))
    assert np.allclose(a[0], b[0]) and np.abs(a[1] - b[1]).max() > 1e-3


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_bfloat16_compute_keeps_float32_parameters_outputs_and_close_gradients():
    # The GPU path: bf16 activations, float32 parameters, output, loss and gradients.
    def make(dtype):
        return UNet(channels=8, channel_mults=(1, 2), num_res_blocks=1, dtype=dtype)

    x = jax.random.normal(jax.random.key(0), (2, 8, 8, 1))
    t = jnp.array([10, 900], jnp.int32)
    params = jax.tree.map(
        lambda p: p + 0.05, jax.jit(make(jnp.float32).init)(jax.random.key(1), x, t)
    )

    def loss(dtype):
        return jax.jit(
            jax.value_and_grad(lambda p: jnp.mean(jnp.square(make(dtype).apply(p, x, t) - x)))
        )

    (value16, grads16), (value32, grads32) = loss(jnp.bfloat16)(params), loss(jnp.float32)(params)
    assert jax.eval_shape(make(jnp.bfloat16).apply, params, x, t).dtype == jnp.float32
    assert all(g.dtype == jnp.float32 for g in jax.tree.leaves(grads16))
    np.testing.assert_allclose(value16, value32, rtol=0.05)
    flat16, flat32 = (
        jnp.concatenate([g.ravel() for g in jax.tree.leaves(g)]) for g in (grads16, grads32)
    )
    cosine = jnp.dot(flat16, flat32) / (jnp.linalg.norm(flat16) * jnp.linalg.norm(flat32))
    assert cosine > 0.99
