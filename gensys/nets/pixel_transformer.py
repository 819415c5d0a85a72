"""A pixel Transformer: causal self-attention over the pixels in raster order (the
decoder of Vaswani et al. 2017 on pixels, as in the Image Transformer of Parmar et al.
2018 and Chen et al. 2020's iGPT, with global attention over a small image).

Each level has a learned embedding (the one-hot input times a matrix), every position a
learned embedding; the sequence is shifted right behind a learned start token so that
position ``t`` predicts pixel ``t`` from pixels ``< t``. Pre-norm blocks of multi-head
causal attention and a GELU MLP, then a linear head to ``L`` logits.

:meth:`PixelTransformer.step` decodes one position against a key-value cache
``[layers, 2, B, D, heads, head_dim]``: ``O(D d)`` attention work per pixel instead of
re-running all ``D`` positions.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp


def _attend(q, k, v, visible):
    """Softmax attention ``[B, Q, heads, dh]`` of ``q`` over ``k, v`` where ``visible [Q, K]``."""
    scores = jnp.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
    scores = jnp.where(visible[None, None], scores, jnp.finfo(scores.dtype).min)
    return jnp.einsum("bhqk,bkhd->bqhd", jax.nn.softmax(scores, axis=-1), v)


class Block(nn.Module):
    width: int
    num_heads: int

    def setup(self):
        self.norm_attention = nn.LayerNorm()
        self.qkv = nn.DenseGeneral((3, self.num_heads, self.width // self.num_heads))
        self.attention_out = nn.DenseGeneral(self.width, axis=(-2, -1))
        self.norm_mlp = nn.LayerNorm()
        self.mlp_in = nn.Dense(4 * self.width)
        self.mlp_out = nn.Dense(self.width)

    def _mlp(self, x):
        return x + self.mlp_out(nn.gelu(self.mlp_in(self.norm_mlp(x))))

    def __call__(self, x: jax.Array) -> jax.Array:
        q, k, v = jnp.moveaxis(self.qkv(self.norm_attention(x)), 2, 0)
        length = x.shape[1]
        causal = jnp.tril(jnp.ones((length, length), bool))
        return self._mlp(x + self.attention_out(_attend(q, k, v, causal)))

    def step(self, x: jax.Array, t: jax.Array, cache: jax.Array):
        """One position ``x [B, 1, width]`` at ``t``; ``cache [2, B, D, heads, dh]``."""
        q, k, v = jnp.moveaxis(self.qkv(self.norm_attention(x)), 2, 0)
        cache = jax.lax.dynamic_update_slice(cache, jnp.stack([k, v]), (0, 0, t, 0, 0))
        visible = (jnp.arange(cache.shape[2]) <= t)[None]
        out = _attend(q, cache[0], cache[1], visible)
        return self._mlp(x + self.attention_out(out)), cache


class PixelTransformer(nn.Module):
    image_shape: tuple[int, int, int]
    num_levels: int
    width: int = 64
    num_layers: int = 2
    num_heads: int = 4

    def setup(self):
        if self.width % self.num_heads:
            raise ValueError(f"width {self.width} must divide by num_heads {self.num_heads}")
        dims = math.prod(self.image_shape)
        self.embed_level = nn.Dense(self.width, use_bias=False)
        embedding_init = nn.initializers.normal(0.02)
        self.start = self.param("start", embedding_init, (self.width,))
        self.positions = self.param("positions", embedding_init, (dims, self.width))
        self.blocks = [Block(self.width, self.num_heads) for _ in range(self.num_layers)]
        self.norm_out = nn.LayerNorm()
        self.head = nn.Dense(self.num_levels)

    def __call__(self, onehot: jax.Array, labels: jax.Array | None = None) -> jax.Array:
        tokens = self.embed_level(onehot.reshape(onehot.shape[0], -1, onehot.shape[-1]))
        start = jnp.broadcast_to(self.start, (tokens.shape[0], 1, self.width))
        x = jnp.concatenate([start, tokens[:, :-1]], axis=1) + self.positions
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm_out(x)).reshape(onehot.shape)

    def init_cache(self, num: int) -> jax.Array:
        dims = math.prod(self.image_shape)
        head_dim = self.width // self.num_heads
        return jnp.zeros((self.num_layers, 2, num, dims, self.num_heads, head_dim))

    def step(self, cache: jax.Array, t: jax.Array, previous: jax.Array):
        """Feeds pixel ``t - 1`` (one-hot ``previous [B, L]``; the start token at ``t = 0``)
        and returns pixel ``t``'s logits ``[B, L]``."""
        token = jnp.where(t > 0, self.embed_level(previous), self.start)
        x = (token + jax.lax.dynamic_index_in_dim(self.positions, t, keepdims=False))[:, None]
        layers = []
        for block, layer_cache in zip(self.blocks, cache, strict=True):
            x, layer_cache = block.step(x, t, layer_cache)
            layers.append(layer_cache)
        return self.head(self.norm_out(x))[:, 0], jnp.stack(layers)
