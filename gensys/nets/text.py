"""Text and image encoders into one embedding space: the text side of text-to-image GANs.

- :class:`GRUTextEncoder`: word embeddings -> a GRU (Cho et al. 2014) over the caption's
  tokens, stopped at each caption's length -> its last hidden state -> a linear map to
  ``embed_dim`` -> unit length. This is Reed et al. (2016)'s recurrent text encoder
  ``phi(t)`` at word level (theirs reads characters through a CNN first; our captions
  are a small closed vocabulary, so words are the natural unit).
- :class:`ImageEncoder`: a small convolutional net to the same unit sphere, the image
  side of the joint embedding the text encoder is trained with
  (:func:`gensys.gan.matching.joint_embedding_loss`), as Reed et al. (2016a) train
  ``phi`` to score matching images above the others.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def unit_length(x: jax.Array) -> jax.Array:
    """``x / |x|`` along the last axis (0 stays 0)."""
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-6)


class GRUTextEncoder(nn.Module):
    """Tokens ``[B, T]`` (0 pads) and lengths ``(B,)`` -> unit embeddings ``[B, embed_dim]``."""

    vocab_size: int
    embed_dim: int = 64
    word_dim: int = 32
    hidden: int = 128

    @nn.compact
    def __call__(self, tokens: jax.Array, lengths: jax.Array) -> jax.Array:
        words = nn.Embed(self.vocab_size, self.word_dim)(tokens)
        last, _ = nn.RNN(nn.GRUCell(self.hidden), return_carry=True)(words, seq_lengths=lengths)
        return unit_length(nn.Dense(self.embed_dim)(last))


class ImageEncoder(nn.Module):
    """Images ``[B, H, W, C]`` -> unit embeddings ``[B, embed_dim]`` (strided 3x3
    convolutions of ``widths`` with LeakyReLU, then a linear map)."""

    embed_dim: int = 64
    widths: tuple[int, ...] = (32, 64)

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        h = images.astype(jnp.float32)
        for width in self.widths:
            h = nn.leaky_relu(nn.Conv(width, (3, 3), strides=(2, 2))(h), 0.2)
        return unit_length(nn.Dense(self.embed_dim)(h.reshape(h.shape[0], -1)))
