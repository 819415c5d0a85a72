"""Coupling layers (NICE, RealNVP) and their masks.

With a binary mask ``m`` over the event (1 = passed through, 0 = transformed) and a
conditioner ``(shift, log_scale) = f(m * x)``, the affine coupling of Dinh et al.
(2017, eqs. 6-9) is

    y = m * x + (1 - m) * (x * exp(log_scale) + shift),
    log|det dy/dx| = sum((1 - m) * log_scale),

and its inverse reads ``f(m * y)`` (equal to ``f(m * x)``) and undoes the affine map.
The additive coupling of NICE (Dinh et al. 2015) is the case ``log_scale = 0``
(volume preserving). Whatever ``f`` computes, the Jacobian is triangular, so ``f``
may be any network: it is passed in as a callable (distrax's conditioner pattern).

A Glow split prior (Kingma & Dhariwal 2018, section 3.3: the factored-out half is
``N(mu(h), sigma(h)^2)`` given the kept half ``h``) is the same layer with a channel
mask, which is how :mod:`gensys.nets.flows` builds it.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from gensys.checks import check_floating
from gensys.flows.bijectors import Bijector, sum_per_example

Conditioner = Callable[[jax.Array], tuple[jax.Array, jax.Array]]


def checkerboard_mask(shape: tuple[int, ...], parity: int) -> np.ndarray:
    """Mask ``[H, W, C]`` that passes through the pixels with ``(i + j) % 2 == parity``."""
    h, w, c = shape
    ij = np.add.outer(np.arange(h), np.arange(w)) % 2
    return np.broadcast_to((ij == parity)[..., None], (h, w, c)).astype(np.float32)


def channel_mask(shape: tuple[int, ...], parity: int) -> np.ndarray:
    """Mask ``[..., C]`` that passes through the first half of the channels (``parity = 0``)
    or the second half (``parity = 1``); with an odd ``C`` the first part is the smaller."""
    c = shape[-1]
    if c < 2:
        raise ValueError(f"a channel mask needs at least 2 channels, got shape {shape}")
    first = np.arange(c) < c // 2
    keep = first if parity == 0 else ~first
    return np.broadcast_to(keep, shape).astype(np.float32)


def affine_coupling(mask: jax.Array, conditioner: Conditioner) -> Bijector:
    """The affine coupling above for ``x [B, *mask.shape]``.

    ``conditioner(m * x) -> (shift, log_scale)``, each shaped like ``x``; bound
    ``log_scale`` in the conditioner (e.g. ``s * tanh``) for stable training.
    """
    mask = jnp.asarray(mask, jnp.float32)
    free = 1.0 - mask

    def params(x):
        check_floating(x, "x")
        if x.shape[1:] != mask.shape:
            raise ValueError(f"x must have shape [B, *{mask.shape}], got {x.shape}")
        shift, log_scale = conditioner(mask * x)
        return free * shift, free * log_scale

    def forward(x):
        shift, log_scale = params(x)
        return mask * x + free * (x * jnp.exp(log_scale) + shift), sum_per_example(log_scale)

    def inverse(y):
        shift, log_scale = params(y)
        return mask * y + free * ((y - shift) * jnp.exp(-log_scale)), -sum_per_example(log_scale)

    return Bijector(forward, inverse)


def additive_coupling(mask: jax.Array, conditioner: Callable[[jax.Array], jax.Array]) -> Bijector:
    """NICE's additive coupling ``y = m * x + (1 - m) * (x + f(m * x))``: log-det 0."""

    def affine_conditioner(x):
        shift = conditioner(x)
        return shift, jnp.zeros_like(shift)

    return affine_coupling(mask, affine_conditioner)
