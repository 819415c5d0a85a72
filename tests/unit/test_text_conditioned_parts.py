"""The parts of the text-conditioned GANs: the matching-aware loss on constructed logits, the
joint embedding loss, conditioning augmentation's KL (the VAE's own function), and the
shapes and conditioning paths of every network."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.data import captions
from gensys.gan.losses import LOSSES, discriminator_loss
from gensys.gan.matching import joint_embedding_loss, matching_aware_discriminator_loss
from gensys.nets.dcgan import DCGANDiscriminator, DCGANGenerator
from gensys.nets.stackgan import (
    ConditioningAugmentation,
    StageIGenerator,
    StageIIGenerator,
    upsampling_layers,
)
from gensys.nets.text import GRUTextEncoder, ImageEncoder
from gensys.recipes import stackgan
from gensys.vae import latent


def test_mismatched_pairs_count_as_fake():
    real = jnp.array([4.0, 4.0])
    fooled = jnp.array([4.0, 4.0])  # the discriminator calls the mismatched pairs real
    rejecting = jnp.array([-4.0, -4.0])
    fake = jnp.array([-4.0, -4.0])
    loss_fooled = matching_aware_discriminator_loss("nonsaturating", real, fooled, fake)
    loss_rejecting = matching_aware_discriminator_loss("nonsaturating", real, rejecting, fake)
    # log(1 + e^-4) for the real pair, half of log(1 + e^4) or log(1 + e^-4) for the others
    expected_fooled = jax.nn.softplus(-4.0) + 0.5 * (jax.nn.softplus(4.0) + jax.nn.softplus(-4.0))
    np.testing.assert_allclose(loss_fooled, expected_fooled, rtol=1e-6)
    assert np.all(loss_fooled > loss_rejecting + 1.9)


@pytest.mark.parametrize("loss", [name for name in LOSSES if name != "wgan_gp"])
def test_the_mismatched_term_is_the_fake_term(loss):
    """For every loss, the mismatched score is pushed exactly as a fake score is, at half the
    weight of the plain loss; the real score keeps its full weight."""
    scores = jnp.array([0.3, -0.7, 1.1])

    def total(real, mismatched, fake):
        return jnp.sum(matching_aware_discriminator_loss(loss, real, mismatched, fake))

    d_real, d_mismatched, d_fake = jax.grad(total, argnums=(0, 1, 2))(scores, scores, scores)
    plain_real, plain_fake = jax.grad(
        lambda r, f: jnp.sum(discriminator_loss(loss, r, f)), argnums=(0, 1)
    )(scores, scores)
    np.testing.assert_allclose(d_mismatched, d_fake, rtol=1e-6)
    np.testing.assert_allclose(d_fake, 0.5 * plain_fake, rtol=1e-6)
    np.testing.assert_allclose(d_real, plain_real, rtol=1e-6)


def test_joint_embedding_loss_rewards_matching_classes():
    eye = np.eye(4, dtype=np.float32)
    classes = jnp.array([0, 1, 2, 3])
    mask = jnp.ones(4)
    aligned, hits = joint_embedding_loss(eye, eye, classes, mask, temperature=0.1)
    crossed, crossed_hits = joint_embedding_loss(eye, eye[::-1], classes, mask, temperature=0.1)
    assert np.all(hits == 1.0) and np.all(np.asarray(crossed_hits)[[0, 3]] == 0.0)
    assert float(jnp.max(aligned)) < 1e-3 < float(jnp.min(crossed))
    # Two examples of one class with one embedding: both captions are targets, half the
    # mass on each, and scoring them equally is the best possible (log 2).
    twins = eye[[0, 0, 2, 3]]
    same, same_hits = joint_embedding_loss(twins, twins, jnp.array([5, 5, 2, 3]), mask)
    np.testing.assert_allclose(same[:2], np.log(2.0), rtol=1e-3)
    assert np.all(same_hits == 1.0)
    # A padded example is left out of the others' softmaxes: as if it were not there.
    padded, _ = joint_embedding_loss(eye, eye[[0, 1, 2, 0]], classes, jnp.array([1, 1, 1, 0.0]))
    three, _ = joint_embedding_loss(eye[:3], eye[:3], classes[:3], jnp.ones(3))
    np.testing.assert_allclose(padded[:3], three, rtol=1e-5)


def test_conditioning_augmentation_uses_the_vae_kl():
    assert stackgan.kl_to_standard_normal is latent.kl_to_standard_normal
    phi = jax.random.normal(jax.random.key(0), (3, 12))
    module = ConditioningAugmentation(c_dim=5)
    params = module.init(jax.random.key(1), phi, jax.random.key(2))
    c, mean, log_var = module.apply(params, phi, jax.random.key(3))
    assert c.shape == mean.shape == log_var.shape == (3, 5)
    by_hand = 0.5 * jnp.sum(jnp.square(mean) + jnp.exp(log_var) - 1.0 - log_var, axis=-1)
    np.testing.assert_allclose(latent.kl_to_standard_normal(mean, log_var), by_hand, rtol=1e-5)
    draws = jax.vmap(lambda k: module.apply(params, phi, k)[0])(
        jax.random.split(jax.random.key(4), 4000)
    )
    np.testing.assert_allclose(jnp.mean(draws, 0), mean, atol=0.08)
    np.testing.assert_allclose(jnp.var(draws, 0), jnp.exp(log_var), rtol=0.12)


def _depends_on_condition(module: nn.Module, make_args, shape):
    """Initialises ``module``, checks the output shape and that the condition matters."""
    a, b = make_args(0), make_args(1)
    variables = module.init(jax.random.key(0), *a, train=False)
    out_a = module.apply(variables, *a, train=False)
    out_b = module.apply(variables, *b, train=False)
    out_a, out_b = (o[0] if isinstance(o, tuple) else o for o in (out_a, out_b))
    assert out_a.shape == shape
    assert float(jnp.max(jnp.abs(out_a - out_b))) > 1e-6


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_networks_have_their_shapes_and_use_their_conditions():
    z = jax.random.normal(jax.random.key(1), (2, 8))
    x16 = jax.random.uniform(jax.random.key(2), (2, 16, 16, 1), minval=-1, maxval=1)
    x8 = x16[:, ::2, ::2]
    key = jax.random.key(3)

    def phi(i):
        return jax.random.normal(jax.random.key(10 + i), (2, 12))

    _depends_on_condition(
        DCGANGenerator(16, 1, 4, condition_features=6), lambda i: (z, phi(i)), (2, 16, 16, 1)
    )
    spatial = DCGANDiscriminator(4, "batch", conditioning="spatial", condition_features=6)
    _depends_on_condition(spatial, lambda i: (x16, phi(i)), (2,))
    _depends_on_condition(StageIGenerator(8, 1, 4, 3), lambda i: (z, phi(i), key), (2, 8, 8, 1))
    stage2 = StageIIGenerator(16, 1, 8, 1, 3)
    _depends_on_condition(stage2, lambda i: (x8, phi(i), key), (2, 16, 16, 1))
    assert upsampling_layers(8, 32) == 2
    with pytest.raises(ValueError, match="power of 2"):
        upsampling_layers(8, 24)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_text_encoder_reads_up_to_each_length():
    tokens, lengths = captions.encode(["a thick, slanted seven", "an upright two"])
    encoder = GRUTextEncoder(len(captions.VOCABULARY), embed_dim=6, word_dim=4, hidden=8)
    params = encoder.init(jax.random.key(0), tokens, lengths)
    phi = encoder.apply(params, tokens, lengths)
    assert phi.shape == (2, 6)
    np.testing.assert_allclose(jnp.linalg.norm(phi, axis=-1), 1.0, rtol=1e-5)
    garbage = tokens.copy()
    garbage[1, lengths[1] :] = 9  # words past the caption's length are not read
    np.testing.assert_allclose(encoder.apply(params, garbage, lengths), phi, atol=1e-6)
    shorter = encoder.apply(params, tokens, lengths - 1)
    assert float(jnp.max(jnp.abs(shorter - phi))) > 1e-4
    images = jnp.zeros((2, 16, 16, 1))
    image_encoder = ImageEncoder(embed_dim=6, widths=(4,))
    v = image_encoder.apply(image_encoder.init(jax.random.key(1), images), images)
    assert v.shape == (2, 6)
