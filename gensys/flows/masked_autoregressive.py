"""Masked autoregressive flows (MAF, Papamakarios et al. 2017) and inverse autoregressive
flows (IAF, Kingma et al. 2016) over a vector ``x [B, D]``.

Both move element ``i`` by an invertible elementwise map ``tau`` whose parameters depend
on the elements before ``i`` only, given by one pass of a masked network (MADE,
:class:`gensys.nets.autoregressive_flows.MADEConditioner`), so the Jacobian is triangular and its
log-determinant is the sum of the elementwise log-derivatives.

- MAF conditions on the data: ``z_i = tau^{-1}(x_i; theta_i(x_{<i}))``. The density
  (data to noise, the bijector's inverse here) is one pass; sampling (its forward) is
  ``D`` passes, each fixing one more element, written as a ``lax.fori_loop``.
- IAF conditions on the noise: ``x_i = tau(z_i; theta_i(z_{<i}))``. Sampling is one pass,
  the density ``D`` passes.

``tau`` is :data:`AFFINE` (``x = z * exp(log_scale) + shift``, MAF's and IAF's form) or a
rational-quadratic spline (:func:`spline_transform`, Durkan et al. 2019, section 3.2).
Stacked layers usually alternate the order: :func:`reverse_features` between them.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys.checks import check_floating, check_rank
from gensys.flows.bijectors import Bijector, invert, sum_per_example
from gensys.flows.splines import rational_quadratic_spline

# (z or x, params [..., P], inverse) -> (output, elementwise log|d output / d input|)
Elementwise = Callable[[jax.Array, jax.Array, bool], tuple[jax.Array, jax.Array]]
Conditioner = Callable[[jax.Array], jax.Array]  # x [B, D] -> params [B, D, P], autoregressive


def affine_transform(x: jax.Array, params: jax.Array, inverse: bool):
    """``y = x * exp(log_scale) + shift`` with ``params[..., 0] = shift`` and
    ``params[..., 1] = log_scale`` (the inverse undoes it)."""
    shift, log_scale = params[..., 0], params[..., 1]
    if inverse:
        return (x - shift) * jnp.exp(-log_scale), -log_scale
    return x * jnp.exp(log_scale) + shift, log_scale


AFFINE: Elementwise = affine_transform


def bounded_affine_transform(bound: float) -> Elementwise:
    """:data:`AFFINE` with ``log_scale = bound * tanh(raw / bound)``: a soft clamp to
    ``(-bound, bound)`` that is the identity near zero (as zuko's and nflows' MAFs bound
    theirs; MAF on data with near-constant dimensions, MNIST's border pixels, otherwise
    learns scales that a rarer value in the next batch turns into overflow)."""
    if not bound > 0:
        raise ValueError(f"bound must be > 0, got {bound}")

    def transform(x, params, inverse):
        raw = params[..., 1]
        bounded = jnp.stack([params[..., 0], bound * jnp.tanh(raw / bound)], axis=-1)
        return affine_transform(x, bounded, inverse)

    return transform


def spline_transform(bound: float = 3.0) -> Elementwise:
    """The rational-quadratic spline of :mod:`gensys.flows.splines` on ``[-bound, bound]``
    (params ``3K - 1`` per element)."""

    def transform(x, params, inverse):
        return rational_quadratic_spline(x, params, bound=bound, inverse=inverse)

    return transform


def _check(x: jax.Array) -> None:
    check_floating(x, "x")
    check_rank(x, 2, "x")


def masked_autoregressive(conditioner: Conditioner, transform: Elementwise = AFFINE) -> Bijector:
    """MAF: forward (noise to data) in ``D`` passes, inverse (data to noise) in one."""

    def inverse(x):
        _check(x)
        z, log_det = transform(x, conditioner(x), True)
        return z, sum_per_example(log_det)

    def forward(z):
        _check(z)

        # Pass i fixes element i (its parameters read elements < i, fixed before).
        def one_pass(_, x):
            return transform(z, conditioner(x), False)[0]

        x = jax.lax.fori_loop(0, z.shape[-1], one_pass, jnp.zeros_like(z))
        x, log_det = transform(z, conditioner(x), False)
        return x, sum_per_example(log_det)

    return Bijector(forward, inverse)


def inverse_autoregressive(conditioner: Conditioner, transform: Elementwise = AFFINE) -> Bijector:
    """IAF: forward (noise to data) in one pass, inverse (data to noise) in ``D``.

    It is MAF of the inverted elementwise map, inverted: ``x = tau(z; theta(z))`` is MAF's
    one-pass direction with ``tau^{-1}`` in place of ``tau``.
    """

    def inverted(x, params, inverse):
        return transform(x, params, not inverse)

    return invert(masked_autoregressive(conditioner, inverted))


def reverse_features() -> Bijector:
    """``x[..., ::-1]`` (log-det 0): between autoregressive layers, so each sees the
    elements the previous one conditioned last."""

    def flip(x):
        return x[..., ::-1], jnp.zeros((x.shape[0],), jnp.float32)

    return Bijector(flip, flip)
