"""Classifier-free guidance: label dropout rates and the guided combination."""

import jax
import jax.numpy as jnp
import numpy as np

from gensys.diffusion import drop_labels, guided_model_fn


def test_drop_labels_rate():
    labels = jnp.arange(20000, dtype=jnp.int32) % 10
    key = jax.random.key(0)
    assert np.array_equal(drop_labels(key, labels, 10, 0.0), labels)
    assert np.all(np.asarray(drop_labels(key, labels, 10, 1.0)) == 10)
    dropped = np.asarray(drop_labels(key, labels, 10, 0.2)) == 10
    se = np.sqrt(0.2 * 0.8 / labels.size)
    assert abs(dropped.mean() - 0.2) < 4 * se


def _model(x, t, y):
    # Conditional output depends on the label; label 10 is the null label.
    return x * (1.0 + y.astype(jnp.float32)[:, None] / 10.0) + t.astype(jnp.float32)[:, None]


def test_guided_combination_and_vmap_over_scales():
    x = jnp.ones((3, 2))
    t = jnp.array([5, 5, 5], jnp.int32)
    y = jnp.array([1, 2, 3], jnp.int32)
    cond, uncond = _model(x, t, y), _model(x, t, jnp.full_like(y, 10))
    for s in (0.0, 1.0, 3.0):
        got = guided_model_fn(_model, y, 10, s)(x, t)
        np.testing.assert_allclose(got, uncond + s * (cond - uncond), rtol=1e-6)
    scales = jnp.array([0.0, 1.0, 3.0])
    batched = jax.vmap(lambda s: guided_model_fn(_model, y, 10, s)(x, t))(scales)
    np.testing.assert_allclose(batched[1], cond, rtol=1e-6)
    np.testing.assert_allclose(batched[0], uncond, rtol=1e-6)


def test_only_the_guided_channels_are_combined():
    x = jnp.ones((2, 4))
    t = jnp.zeros((2,), jnp.int32)
    y = jnp.array([4, 7], jnp.int32)
    got = guided_model_fn(_model, y, 10, 5.0, guided_channels=2)(x, t)
    cond = _model(x, t, y)
    np.testing.assert_allclose(got[:, 2:], cond[:, 2:])
    assert not np.allclose(got[:, :2], cond[:, :2])
