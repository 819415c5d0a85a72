"""Losses of text-conditioned GANs, as pure functions of scores.

- :func:`matching_aware_discriminator_loss` (Reed et al. 2016, GAN-CLS, Alg. 1): the
  discriminator sees three kinds of (image, text) pairs: a real image with its own text
  (``s_r``, real), a real image with a mismatched text (``s_w``) and a generated image with
  the text it was made from (``s_f``); the last two both count as fake:

      L_D = l_real(s_r) + (l_fake(s_w) + l_fake(s_f)) / 2

  where ``l_real + l_fake`` is the per-example loss of :func:`~gensys.gan.losses.
  discriminator_loss` (every loss in the zoo is such a sum), so
  ``L_D = (discriminator_loss(s_r, s_w) + discriminator_loss(s_r, s_f)) / 2``. The
  discriminator must then judge whether image and text agree, not only whether the image
  looks real.
- :func:`joint_embedding_loss`: trains the text encoder ``phi`` with an image encoder so
  that each image scores its own caption class above the others in the batch: the
  symmetric softmax cross-entropy of the scaled cosine similarities (as CLIP, Radford et
  al. 2021; Reed et al. 2016a used a structured hinge loss to the same end), with every
  caption of the same class a target (the batch holds repeats of the 90 classes).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gensys import checks
from gensys.gan.losses import discriminator_loss


def matching_aware_discriminator_loss(
    loss: str, real: jax.Array, mismatched: jax.Array, fake: jax.Array
) -> jax.Array:
    """Per-example GAN-CLS discriminator loss ``(B,)`` from its scores on (real image, its
    text), (real image, a mismatched text) and (generated image, its text)."""
    checks.check_same_shape(mismatched, real, "mismatched", "real")
    return 0.5 * (discriminator_loss(loss, real, mismatched) + discriminator_loss(loss, real, fake))


def joint_embedding_loss(
    image_embeddings: jax.Array,
    text_embeddings: jax.Array,
    classes: jax.Array,
    mask: jax.Array,
    temperature: float = 0.1,
) -> tuple[jax.Array, jax.Array]:
    """Per-example matching loss and retrieval hit ``(B,)`` of unit embeddings ``[B, E]``.

    Example ``i``'s image and text both have class ``classes[i]``. The loss averages the
    image-to-texts and text-to-images cross-entropies, the target spread evenly over the
    (unmasked) examples of the same class; the hit is 1 where the text scored highest by
    image ``i`` has its class.
    """
    checks.check_same_shape(text_embeddings, image_embeddings, "text", "image")
    checks.check_rank(image_embeddings, 2, "image_embeddings")
    scores = image_embeddings @ text_embeddings.T / temperature
    valid = (mask[:, None] > 0) & (mask[None, :] > 0)
    scores = jnp.where(valid, scores, -1e9)
    same = (classes[:, None] == classes[None, :]) & valid
    targets = same / jnp.maximum(jnp.sum(same, axis=-1, keepdims=True), 1)

    def cross_entropy(s):
        return -jnp.sum(targets * jax.nn.log_softmax(s, axis=-1), axis=-1)

    # same and valid are symmetric, so the columns' targets are the rows'.
    per_example = 0.5 * (cross_entropy(scores) + cross_entropy(scores.T))
    hit = (classes[jnp.argmax(scores, axis=-1)] == classes).astype(jnp.float32)
    return per_example, hit
