"""Bijectors: invertible maps with their log-Jacobian-determinants, as pure functions.

A :class:`Bijector` is a pair of functions on a batch ``x [B, ...]``:

- ``forward_and_log_det(x) -> (y, log|det dy/dx|)``, the log-det of shape ``(B,)``
  (summed over every axis after the batch axis);
- ``inverse_and_log_det(y) -> (x, log|det dx/dy|)``, so the two log-dets of a
  round trip add to zero.

As in distrax, *forward* is the generative direction (noise to data) and a
flow's density is ``log p(x) = log p_base(z) + log|det dz/dx|`` with
``(z, log|det dz/dx|) = inverse_and_log_det(x)`` (Dinh et al. 2017, eq. 3).
The constructors here close over their parameters (plain arrays), so every
bijector is jit-, vmap- and grad-compatible; conditioners of couplings are
callables passed in (see :mod:`gensys.flows.coupling`).

Here: the core (:func:`chain`, :func:`invert`), ActNorm (Kingma & Dhariwal
2018) with its data-dependent initialisation, the invertible 1x1 convolution
with an LU parameterization (ibid.), squeeze (Dinh et al. 2017) and the logit
pre-processing of RealNVP.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys.checks import check_floating, check_rank, check_shape

Transform = Callable[[jax.Array], tuple[jax.Array, jax.Array]]


@dataclasses.dataclass(frozen=True)
class Bijector:
    """An invertible map and its inverse, each returning the per-example log-det ``(B,)``."""

    forward_and_log_det: Transform
    inverse_and_log_det: Transform

    def forward(self, x: jax.Array) -> jax.Array:
        return self.forward_and_log_det(x)[0]

    def inverse(self, y: jax.Array) -> jax.Array:
        return self.inverse_and_log_det(y)[0]


def sum_per_example(x: jax.Array) -> jax.Array:
    """Sum over every axis after the batch axis: ``[B, ...] -> (B,)``."""
    return jnp.sum(x.reshape(x.shape[0], -1), axis=-1)


def chain(*bijectors: Bijector) -> Bijector:
    """The composition that runs ``bijectors`` forward in the order given (inverse in reverse).

    Its log-det is the sum of the parts' (the chain rule). Note the order: distrax's
    ``Chain([f, g])`` is ``f(g(x))``; ``chain(f, g)`` here is ``g(f(x))``, as a flow is
    usually written from the noise side.
    """
    if not bijectors:
        raise ValueError("chain needs at least one bijector")

    def run(x, parts, method):
        total = jnp.zeros((x.shape[0],), jnp.float32)
        for part in parts:
            x, log_det = getattr(part, method)(x)
            total = total + log_det
        return x, total

    return Bijector(
        forward_and_log_det=lambda x: run(x, bijectors, "forward_and_log_det"),
        inverse_and_log_det=lambda y: run(y, bijectors[::-1], "inverse_and_log_det"),
    )


def invert(bijector: Bijector) -> Bijector:
    """The bijector whose forward is ``bijector``'s inverse."""
    return Bijector(bijector.inverse_and_log_det, bijector.forward_and_log_det)


# ----------------------------------------------------------------------------- ActNorm


def actnorm(log_scale: jax.Array, bias: jax.Array) -> Bijector:
    """Per-channel affine ``y = x * exp(log_scale) + bias`` (Kingma & Dhariwal 2018, Table 1).

    ``x [B, ..., C]``; ``log_scale`` and ``bias`` ``(C,)``. The log-det counts the
    scale once per position: ``(prod of the middle axes) * sum(log_scale)``.
    """
    check_rank(log_scale, 1, "log_scale")
    check_shape(bias, log_scale.shape, "bias")

    def log_det(x):
        positions = math.prod(x.shape[1:-1])
        return jnp.full((x.shape[0],), positions * jnp.sum(log_scale), jnp.float32)

    def forward(x):
        check_floating(x, "x")
        return x * jnp.exp(log_scale) + bias, log_det(x)

    def inverse(y):
        check_floating(y, "y")
        return (y - bias) * jnp.exp(-log_scale), -log_det(y)

    return Bijector(forward, inverse)


def actnorm_data_init(
    x: jax.Array, weights: jax.Array | None = None, eps: float = 1e-6, min_std: float = 0.0
) -> tuple[jax.Array, jax.Array]:
    """Data-dependent ActNorm parameters ``(log_scale, bias)`` from a batch ``x [B, ..., C]``.

    Chosen so that the *inverse* (normalising) direction maps the batch to zero mean
    and unit variance per channel: ``bias = mean``, ``log_scale = log std``, with the
    std at least ``min_std`` (a channel nearly constant in this batch, such as a border
    pixel of a flattened image, would otherwise be scaled so far that a rarer value in a
    later batch lands thousands of standard deviations out).
    ``weights (B,)`` (e.g. the batch mask) leave padding examples out.
    """
    check_floating(x, "x")
    channels = x.shape[-1]
    flat = x.reshape(x.shape[0], -1, channels)
    w = jnp.ones((x.shape[0],), x.dtype) if weights is None else weights.astype(x.dtype)
    w = jnp.broadcast_to(w[:, None, None], flat.shape[:2] + (1,))
    total = jnp.maximum(jnp.sum(w), 1.0)
    mean = jnp.sum(w * flat, axis=(0, 1)) / total
    var = jnp.sum(w * jnp.square(flat - mean), axis=(0, 1)) / total
    return jnp.maximum(0.5 * jnp.log(var + eps), math.log(max(min_std, 1e-30))), mean


# ------------------------------------------------------------- invertible 1x1 convolution


def lu_conv1x1_init(key: jax.Array, channels: int) -> dict[str, jax.Array]:
    """LU parameters of a random rotation ``W = P L (U + diag(sign * exp(log_s)))``.

    ``P`` (a permutation) and ``sign`` are fixed; ``lower`` and ``upper`` hold the
    strictly triangular parts (Kingma & Dhariwal 2018, section 3.2). Traceable, so
    it runs inside a jitted ``init``.
    """
    rotation, _ = jnp.linalg.qr(jax.random.normal(key, (channels, channels), jnp.float32))
    p, lower, upper = jax.scipy.linalg.lu(rotation)
    diagonal = jnp.diag(upper)
    return {
        "permutation": p,
        "lower": jnp.tril(lower, -1),
        "upper": jnp.triu(upper, 1),
        "sign": jnp.sign(diagonal),
        "log_s": jnp.log(jnp.abs(diagonal)),
    }


def lu_conv1x1(
    permutation: jax.Array,
    lower: jax.Array,
    upper: jax.Array,
    sign: jax.Array,
    log_s: jax.Array,
) -> Bijector:
    """Invertible 1x1 convolution with ``W = P L (U + diag(sign * exp(log_s)))``
    (Kingma & Dhariwal 2018, eq. 10), on ``x [B, ..., C]``.

    The normalising direction (``inverse``, data to noise, the one training runs) is
    Glow's ``z[..., :] = W x[..., :]``, a matrix product with log-det
    ``(positions) * sum(log_s)``: O(C) instead of the O(C^3) of a determinant. The
    generative ``forward`` undoes it by two triangular solves. ``permutation`` and
    ``sign`` get no gradient.
    """
    check_rank(lower, 2, "lower")
    c = lower.shape[0]
    for value, name in ((permutation, "permutation"), (upper, "upper")):
        check_shape(value, (c, c), name)
    for value, name in ((sign, "sign"), (log_s, "log_s")):
        check_shape(value, (c,), name)
    permutation, sign = jax.lax.stop_gradient(permutation), jax.lax.stop_gradient(sign)
    eye = jnp.eye(c, dtype=lower.dtype)
    l_full = jnp.tril(lower, -1) + eye
    u_full = jnp.triu(upper, 1) + jnp.diag(sign * jnp.exp(log_s))

    def log_det(x):
        return jnp.full((x.shape[0],), math.prod(x.shape[1:-1]) * jnp.sum(log_s), jnp.float32)

    def inverse(x):
        check_floating(x, "x")
        weight = permutation @ (l_full @ u_full)
        return jnp.einsum("...c,dc->...d", x, weight), log_det(x)

    def forward(z):
        check_floating(z, "z")
        # x = U^-1 L^-1 P^T z, by two triangular solves on the flattened positions.
        flat = z.reshape(-1, c) @ permutation  # rows: (P^T z)^T
        flat = jax.scipy.linalg.solve_triangular(l_full, flat.T, lower=True, unit_diagonal=True)
        flat = jax.scipy.linalg.solve_triangular(u_full, flat, lower=False)
        return flat.T.reshape(z.shape), -log_det(z)

    return Bijector(forward, inverse)


# ----------------------------------------------------------------------------- squeeze


def squeeze(factor: int = 2) -> Bijector:
    """Space to depth: ``[B, H, W, C] -> [B, H/f, W/f, f*f*C]`` (Dinh et al. 2017, Fig. 3);
    a permutation, so its log-det is 0."""

    def forward(x):
        check_rank(x, 4, "x")
        b, h, w, c = x.shape
        if h % factor or w % factor:
            raise ValueError(f"squeeze needs H and W divisible by {factor}, got shape {x.shape}")
        x = x.reshape(b, h // factor, factor, w // factor, factor, c)
        x = x.transpose(0, 1, 3, 2, 4, 5).reshape(b, h // factor, w // factor, factor**2 * c)
        return x, jnp.zeros((b,), jnp.float32)

    def inverse(y):
        check_rank(y, 4, "y")
        b, h, w, c = y.shape
        if c % factor**2:
            raise ValueError(f"unsqueeze needs C divisible by {factor**2}, got shape {y.shape}")
        y = y.reshape(b, h, w, factor, factor, c // factor**2).transpose(0, 1, 3, 2, 4, 5)
        return y.reshape(b, h * factor, w * factor, c // factor**2), jnp.zeros((b,), jnp.float32)

    return Bijector(forward, inverse)


# ------------------------------------------------------------------- logit pre-processing


def logit_preprocessing(alpha: float) -> Bijector:
    """RealNVP's logit transform, generative direction first (Dinh et al. 2017, section 4.1).

    Inverse (data ``y`` in ``(0, 1)`` to the real line):
    ``x = logit(alpha + (1 - 2 alpha) y)``, log-det
    ``sum(log(1 - 2 alpha) - log p - log(1 - p))`` with ``p = alpha + (1 - 2 alpha) y``.
    Forward: ``y = (sigmoid(x) - alpha) / (1 - 2 alpha)``. ``alpha`` keeps the data away
    from the logit's infinities (0.05 in the paper for CIFAR-10, 1e-6 for MNIST).
    """
    if not 0.0 <= alpha < 0.5:
        raise ValueError(f"alpha must be in [0, 0.5), got {alpha}")
    scale = 1.0 - 2.0 * alpha

    def inverse(y):
        check_floating(y, "y")
        p = alpha + scale * y
        x = jnp.log(p) - jnp.log1p(-p)
        return x, sum_per_example(math.log(scale) - jnp.log(p) - jnp.log1p(-p))

    def forward(x):
        check_floating(x, "x")
        y = (jax.nn.sigmoid(x) - alpha) / scale
        # log dy/dx = log sigmoid(x) + log sigmoid(-x) - log(1 - 2 alpha)
        log_det = jax.nn.log_sigmoid(x) + jax.nn.log_sigmoid(-x) - math.log(scale)
        return y, sum_per_example(log_det)

    return Bijector(forward, inverse)


def shift(offset: float) -> Bijector:
    """``y = x + offset`` (log-det 0): Glow centres its data with ``offset = 0.5``
    (the inverse maps ``[0, 1]`` to ``[-0.5, 0.5]``)."""

    def forward(x):
        return x + offset, jnp.zeros((x.shape[0],), jnp.float32)

    def inverse(y):
        return y - offset, jnp.zeros((y.shape[0],), jnp.float32)

    return Bijector(forward, inverse)
