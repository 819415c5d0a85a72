"""GAN losses at reference logits, their stability at +-100, and the gradient penalties."""

import math

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

from gensys.gan.losses import (
    LOSSES,
    called_real,
    clip_weights,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    r1_penalty,
)


def test_reference_values():
    zero = jnp.zeros(3)
    np.testing.assert_allclose(generator_loss("nonsaturating", zero), math.log(2), rtol=1e-6)
    np.testing.assert_allclose(
        discriminator_loss("minimax", zero, zero), 2 * math.log(2), rtol=1e-6
    )
    np.testing.assert_allclose(generator_loss("minimax", zero), -math.log(2), rtol=1e-6)
    # LSGAN is zero at its targets (b = 1 for reals, a = 0 for fakes, c = 1 for the generator).
    assert float(discriminator_loss("lsgan", jnp.ones(1), jnp.zeros(1))[0]) == 0.0
    assert float(generator_loss("lsgan", jnp.ones(1))[0]) == 0.0
    # Hinge is zero once the margins hold; Wasserstein is the difference of the means.
    assert float(discriminator_loss("hinge", jnp.array([1.5]), jnp.array([-2.0]))[0]) == 0.0
    assert float(discriminator_loss("wgan", jnp.array([3.0]), jnp.array([1.0]))[0]) == -2.0


@pytest.mark.parametrize("loss", LOSSES)
def test_finite_values_and_gradients_at_saturated_logits(loss):
    logits = jnp.array([-100.0, 100.0, 0.0, 40.0])

    def total(real, fake):
        return jnp.sum(discriminator_loss(loss, real, fake)) + jnp.sum(generator_loss(loss, fake))

    values = (discriminator_loss(loss, logits, logits), generator_loss(loss, logits))
    grads = jax.grad(total, argnums=(0, 1))(logits, logits)
    for tree in (values, grads):
        assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(tree))


@settings(max_examples=50, deadline=None)
@given(st.floats(-15, 15), st.floats(-15, 15))
def test_cross_entropy_terms_match_float64_probabilities(real, fake):
    # Past |logit| ~ 15 the float64 reference itself loses digits in 1 - sigmoid.
    sig = lambda v: 1.0 / (1.0 + np.exp(-np.float64(v)))  # noqa: E731
    expected = -np.log(sig(real)) - np.log1p(-sig(fake))
    got = float(discriminator_loss("minimax", jnp.array([real]), jnp.array([fake]))[0])
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-5)
    assert float(generator_loss("nonsaturating", jnp.array([fake]))[0]) == pytest.approx(
        -np.log(sig(fake)), rel=1e-5, abs=1e-5
    )


def test_gradient_penalty_of_a_linear_critic():
    key = jax.random.key(0)
    w = jax.random.normal(key, (4 * 4 * 2,))
    real = jax.random.normal(jax.random.key(1), (5, 4, 4, 2))
    fake = jax.random.normal(jax.random.key(2), (5, 4, 4, 2))
    mix = jax.random.uniform(jax.random.key(3), (5,))

    def critic_with(weight):
        return lambda x: x.reshape(x.shape[0], -1) @ weight

    unit = w / jnp.linalg.norm(w)
    np.testing.assert_allclose(gradient_penalty(critic_with(unit), real, fake, mix), 0.0, atol=1e-6)
    penalty = gradient_penalty(critic_with(2.0 * unit), real, fake, mix)
    np.testing.assert_allclose(penalty, 1.0, rtol=1e-5)  # (||2 w|| - 1)^2
    np.testing.assert_allclose(r1_penalty(critic_with(w), real), jnp.sum(w**2), rtol=1e-5)


def test_gradient_penalty_is_per_example_and_takes_labels():
    real = jax.random.normal(jax.random.key(1), (6, 3))
    fake = jax.random.normal(jax.random.key(2), (6, 3))
    mix = jnp.linspace(0.0, 1.0, 6)
    scale = jnp.arange(1.0, 7.0)  # a per-example input, as class labels are

    def critic(x, s):
        return s * jnp.sum(jnp.square(x), axis=-1)  # grad = 2 s x, per example

    x_hat = mix[:, None] * real + (1 - mix[:, None]) * fake
    expected = jnp.square(2 * scale * jnp.linalg.norm(x_hat, axis=-1) - 1.0)
    got = jax.jit(lambda r, f: gradient_penalty(critic, r, f, mix, scale))(real, fake)
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_called_real_and_weight_clipping():
    real, fake = jnp.array([0.5, -0.5]), jnp.array([-1.0, 1.0])
    r, f = called_real("nonsaturating", real, fake)
    np.testing.assert_array_equal(r, [1, 0])
    np.testing.assert_array_equal(f, [0, 1])
    r, _ = called_real("lsgan", jnp.array([0.6, 0.4]), fake)
    np.testing.assert_array_equal(r, [1, 0])
    r, f = called_real("wgan", jnp.array([5.0, 1.0]), jnp.array([2.0, 0.0]))
    # The critic's threshold is the other side's batch mean: 1.0 for reals, 3.0 for fakes.
    np.testing.assert_array_equal(r, [1, 0])
    np.testing.assert_array_equal(f, [0, 0])
    clipped = clip_weights({"a": jnp.array([-1.0, 0.005, 1.0])}, 0.01)
    np.testing.assert_allclose(clipped["a"], [-0.01, 0.005, 0.01])
    with pytest.raises(ValueError, match="loss must be one of"):
        generator_loss("wasserstein", fake)
