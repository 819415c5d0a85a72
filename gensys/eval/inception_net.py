"""Inception-v3 as used for FID (Szegedy et al. 2016; Heusel et al. 2017), in Flax.

The network of TensorFlow's FID code as pytorch-fid ports it: torchvision's
Inception-v3 with four changes that make its pool features match the original
graph: average pools that do not count the padding (``Mixed_5*``, ``Mixed_6b-e``,
``Mixed_7b``), a max pool in the last block's pool branch (``Mixed_7c``), 1008
classes, and no auxiliary head. Every convolution is ``conv (no bias) -> batch norm
(eps 1e-3, running statistics) -> ReLU``. Module names follow the PyTorch
``state_dict`` (``Mixed_5b.branch5x5_2.conv``), so :mod:`gensys.eval.fid` maps a
weights file onto the tree name for name.

``width`` scales every channel count (``1.0`` is the real network); tests run a
randomly initialised ``width=1/16`` stand-in. Input: ``[B, H, W, 3]`` in ``[-1, 1]``,
``H, W >= 75``; output: the 2048 (times ``width``) pool features ``[B, 2048]``.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp


class BasicConv(nn.Module):
    features: int
    kernel: tuple[int, int] = (1, 1)
    stride: int = 1
    padding: tuple[int, int] = (0, 0)

    @nn.compact
    def __call__(self, x):
        (ph, pw) = self.padding
        x = nn.Conv(self.features, self.kernel, (self.stride,) * 2, padding=((ph, ph), (pw, pw)),
                    use_bias=False, name="conv")(x)  # fmt: skip
        x = nn.BatchNorm(use_running_average=True, epsilon=1e-3, name="bn")(x)
        return nn.relu(x)


def _avg_pool(x):
    return nn.avg_pool(x, (3, 3), (1, 1), padding=((1, 1), (1, 1)), count_include_pad=False)


def _max_pool(x, stride=2, padding="VALID"):
    return nn.max_pool(x, (3, 3), (stride, stride), padding=padding)


class InceptionA(nn.Module):
    pool_features: int
    w: Callable[[int], int]

    @nn.compact
    def __call__(self, x):
        w = self.w
        b1 = BasicConv(w(64), name="branch1x1")(x)
        b5 = BasicConv(w(48), name="branch5x5_1")(x)
        b5 = BasicConv(w(64), (5, 5), padding=(2, 2), name="branch5x5_2")(b5)
        b3 = BasicConv(w(64), name="branch3x3dbl_1")(x)
        b3 = BasicConv(w(96), (3, 3), padding=(1, 1), name="branch3x3dbl_2")(b3)
        b3 = BasicConv(w(96), (3, 3), padding=(1, 1), name="branch3x3dbl_3")(b3)
        bp = BasicConv(w(self.pool_features), name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b5, b3, bp], -1)


class InceptionB(nn.Module):
    w: Callable[[int], int]

    @nn.compact
    def __call__(self, x):
        w = self.w
        b3 = BasicConv(w(384), (3, 3), 2, name="branch3x3")(x)
        bd = BasicConv(w(64), name="branch3x3dbl_1")(x)
        bd = BasicConv(w(96), (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
        bd = BasicConv(w(96), (3, 3), 2, name="branch3x3dbl_3")(bd)
        return jnp.concatenate([b3, bd, _max_pool(x)], -1)


class InceptionC(nn.Module):
    channels_7x7: int
    w: Callable[[int], int]

    @nn.compact
    def __call__(self, x):
        w, c7 = self.w, self.w(self.channels_7x7)
        row, col = dict(kernel=(1, 7), padding=(0, 3)), dict(kernel=(7, 1), padding=(3, 0))
        b1 = BasicConv(w(192), name="branch1x1")(x)
        b7 = BasicConv(c7, name="branch7x7_1")(x)
        b7 = BasicConv(c7, **row, name="branch7x7_2")(b7)
        b7 = BasicConv(w(192), **col, name="branch7x7_3")(b7)
        bd = BasicConv(c7, name="branch7x7dbl_1")(x)
        bd = BasicConv(c7, **col, name="branch7x7dbl_2")(bd)
        bd = BasicConv(c7, **row, name="branch7x7dbl_3")(bd)
        bd = BasicConv(c7, **col, name="branch7x7dbl_4")(bd)
        bd = BasicConv(w(192), **row, name="branch7x7dbl_5")(bd)
        bp = BasicConv(w(192), name="branch_pool")(_avg_pool(x))
        return jnp.concatenate([b1, b7, bd, bp], -1)


class InceptionD(nn.Module):
    w: Callable[[int], int]

    @nn.compact
    def __call__(self, x):
        w = self.w
        b3 = BasicConv(w(192), name="branch3x3_1")(x)
        b3 = BasicConv(w(320), (3, 3), 2, name="branch3x3_2")(b3)
        b7 = BasicConv(w(192), name="branch7x7x3_1")(x)
        b7 = BasicConv(w(192), (1, 7), padding=(0, 3), name="branch7x7x3_2")(b7)
        b7 = BasicConv(w(192), (7, 1), padding=(3, 0), name="branch7x7x3_3")(b7)
        b7 = BasicConv(w(192), (3, 3), 2, name="branch7x7x3_4")(b7)
        return jnp.concatenate([b3, b7, _max_pool(x)], -1)


class InceptionE(nn.Module):
    """The last blocks; ``max_pool_branch`` is pytorch-fid's ``FIDInceptionE_2``."""

    w: Callable[[int], int]
    max_pool_branch: bool = False

    @nn.compact
    def __call__(self, x):
        w = self.w
        row, col = dict(kernel=(1, 3), padding=(0, 1)), dict(kernel=(3, 1), padding=(1, 0))
        b1 = BasicConv(w(320), name="branch1x1")(x)
        b3 = BasicConv(w(384), name="branch3x3_1")(x)
        b3 = jnp.concatenate(
            [
                BasicConv(w(384), **row, name="branch3x3_2a")(b3),
                BasicConv(w(384), **col, name="branch3x3_2b")(b3),
            ],
            -1,
        )
        bd = BasicConv(w(448), name="branch3x3dbl_1")(x)
        bd = BasicConv(w(384), (3, 3), padding=(1, 1), name="branch3x3dbl_2")(bd)
        bd = jnp.concatenate(
            [
                BasicConv(w(384), **row, name="branch3x3dbl_3a")(bd),
                BasicConv(w(384), **col, name="branch3x3dbl_3b")(bd),
            ],
            -1,
        )
        pooled = _max_pool(x, 1, ((1, 1), (1, 1))) if self.max_pool_branch else _avg_pool(x)
        bp = BasicConv(w(192), name="branch_pool")(pooled)
        return jnp.concatenate([b1, b3, bd, bp], -1)


class FIDInceptionV3(nn.Module):
    """Pool features ``[B, 2048 * width]`` of images ``[B, H, W, 3]`` in ``[-1, 1]``."""

    width: float = 1.0

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 4 or x.shape[-1] != 3 or min(x.shape[1:3]) < 75:
            raise ValueError(f"Inception-v3 takes [B, H >= 75, W >= 75, 3], got {x.shape}")

        def w(channels: int) -> int:
            return max(1, round(channels * self.width))

        x = BasicConv(w(32), (3, 3), 2, name="Conv2d_1a_3x3")(x)
        x = BasicConv(w(32), (3, 3), name="Conv2d_2a_3x3")(x)
        x = _max_pool(BasicConv(w(64), (3, 3), padding=(1, 1), name="Conv2d_2b_3x3")(x))
        x = BasicConv(w(80), name="Conv2d_3b_1x1")(x)
        x = _max_pool(BasicConv(w(192), (3, 3), name="Conv2d_4a_3x3")(x))
        for name, pool in (("Mixed_5b", 32), ("Mixed_5c", 64), ("Mixed_5d", 64)):
            x = InceptionA(pool, w, name=name)(x)
        x = InceptionB(w, name="Mixed_6a")(x)
        for name, c7 in (
            ("Mixed_6b", 128),
            ("Mixed_6c", 160),
            ("Mixed_6d", 160),
            ("Mixed_6e", 192),
        ):
            x = InceptionC(c7, w, name=name)(x)
        x = InceptionD(w, name="Mixed_7a")(x)
        x = InceptionE(w, name="Mixed_7b")(x)
        x = InceptionE(w, max_pool_branch=True, name="Mixed_7c")(x)
        return jnp.mean(x, axis=(1, 2))
