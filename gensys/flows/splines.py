"""Rational-quadratic splines (Durkan et al. 2019, "Neural Spline Flows"), elementwise.

On ``[-B, B]`` the map is monotonic and piecewise rational-quadratic with ``K`` bins:
knots ``(x_k, y_k)``, ``k = 0..K``, from ``(-B, -B)`` to ``(B, B)``, and positive
derivatives ``d_k`` at the knots (1 at the two ends, so the identity tails outside
``[-B, B]`` join smoothly: the paper's "linear tails"). In bin ``k``, with width
``w = x_{k+1} - x_k``, height ``h``, slope ``s = h / w`` and ``xi = (x - x_k) / w``
(eq. 4 and appendix A of the paper):

    y = y_k + h (s xi^2 + d_k xi (1 - xi)) / (s + (d_{k+1} + d_k - 2 s) xi (1 - xi))

    dy/dx = s^2 (d_{k+1} xi^2 + 2 s xi (1 - xi) + d_k (1 - xi)^2)
            / (s + (d_{k+1} + d_k - 2 s) xi (1 - xi))^2

and the inverse solves the quadratic ``a xi^2 + b xi + c = 0`` for the root in
``[0, 1]`` in the cancellation-free form ``xi = 2 c / (-b - sqrt(b^2 - 4 a c))``, with

    a = h (s - d_k) + (y - y_k) (d_{k+1} + d_k - 2 s)
    b = h d_k - (y - y_k) (d_{k+1} + d_k - 2 s)
    c = -s (y - y_k).

The unconstrained parameters of one element are ``3K - 1`` numbers: ``K`` widths and
``K`` heights (softmax, each bin at least ``MIN_BIN`` of the interval) and ``K - 1``
interior derivatives (softplus, at least ``MIN_DERIVATIVE``). All zeros give equal bins
and unit derivatives: the identity.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from gensys.checks import check_floating
from gensys.flows.bijectors import Bijector, sum_per_example

MIN_BIN = 1e-3  # of the interval's width, per bin
MIN_DERIVATIVE = 1e-3
# MIN_DERIVATIVE + softplus(0 + shift) = 1: zero parameters give unit derivatives.
_UNIT_SLOPE_SHIFT = math.log(math.expm1(1.0 - MIN_DERIVATIVE))


def num_spline_params(num_bins: int) -> int:
    """Unconstrained parameters per element: ``K`` widths, ``K`` heights, ``K - 1`` slopes."""
    if num_bins < 1:
        raise ValueError(f"num_bins must be >= 1, got {num_bins}")
    return 3 * num_bins - 1


def _knots(unnormalised: jax.Array, bound: float) -> jax.Array:
    """``K`` unconstrained sizes -> ``K + 1`` knot positions from ``-bound`` to ``bound``."""
    k = unnormalised.shape[-1]
    sizes = MIN_BIN + (1.0 - MIN_BIN * k) * jax.nn.softmax(unnormalised, axis=-1)
    inner = jnp.cumsum(sizes[..., :-1], axis=-1)
    zero = jnp.zeros_like(sizes[..., :1])
    one = jnp.ones_like(sizes[..., :1])
    # The ends are set exactly, so rounding never leaves a gap at +-bound.
    return (2.0 * jnp.concatenate([zero, inner, one], axis=-1) - 1.0) * bound


def rational_quadratic_spline(
    x: jax.Array, params: jax.Array, *, bound: float = 3.0, inverse: bool = False
) -> tuple[jax.Array, jax.Array]:
    """The spline of ``params [..., 3K - 1]`` applied to ``x [...]`` elementwise (the inverse
    map with ``inverse=True``); returns ``(y, log|dy/dx|)`` per element (of the map applied).

    Outside ``[-bound, bound]`` the map is the identity (log-derivative 0).
    """
    check_floating(x, "x")
    if params.shape[:-1] != x.shape or (params.shape[-1] + 1) % 3:
        raise ValueError(
            f"params must have shape [*x.shape, 3K - 1] = [*{x.shape}, 3K - 1], got {params.shape}"
        )
    if bound <= 0:
        raise ValueError(f"bound must be positive, got {bound}")
    k = (params.shape[-1] + 1) // 3
    xs = _knots(params[..., :k], bound)
    ys = _knots(params[..., k : 2 * k], bound)
    ones = jnp.ones_like(params[..., :1])
    interior = MIN_DERIVATIVE + jax.nn.softplus(params[..., 2 * k :] + _UNIT_SLOPE_SHIFT)
    ds = jnp.concatenate([ones, interior, ones], axis=-1)

    inside = (x >= -bound) & (x <= bound)
    # Inputs outside are moved inside for the arithmetic (no NaN in the unused branch).
    z = jnp.where(inside, x, 0.0)
    knots_in = ys if inverse else xs
    # The bin of z: the last knot at or below it, among the first K knots.
    index = jnp.sum(z[..., None] >= knots_in[..., :-1], axis=-1) - 1
    index = jnp.clip(index, 0, k - 1)[..., None]

    def pick(a):
        return jnp.take_along_axis(a, index, axis=-1)[..., 0]

    x_k, x_k1 = pick(xs), pick(xs[..., 1:])
    y_k, y_k1 = pick(ys), pick(ys[..., 1:])
    d_k, d_k1 = pick(ds), pick(ds[..., 1:])
    w, h = x_k1 - x_k, y_k1 - y_k
    s = h / w
    curvature = d_k1 + d_k - 2.0 * s

    if inverse:
        dy = z - y_k
        a = h * (s - d_k) + dy * curvature
        b = h * d_k - dy * curvature
        c = -s * dy
        discriminant = jnp.maximum(b * b - 4.0 * a * c, 0.0)
        xi = _unit_interval(2.0 * c / (-b - jnp.sqrt(discriminant)))
        xi = jnp.where(dy >= h, 1.0, xi)  # the top knot exactly, despite the formula's rounding
        out = x_k + xi * w
    else:
        xi = _unit_interval((z - x_k) / w)
        mix = xi * (1.0 - xi)
        out = y_k + h * (s * xi * xi + d_k * mix) / (s + curvature * mix)

    mix = xi * (1.0 - xi)
    denominator = s + curvature * mix
    derivative = s * s * (d_k1 * xi * xi + 2.0 * s * mix + d_k * (1.0 - xi) ** 2) / denominator**2
    log_derivative = jnp.log(derivative)  # of the forward map at the forward input
    if inverse:
        log_derivative = -log_derivative
    y = jnp.where(inside, out, x)
    return y, jnp.where(inside, log_derivative, 0.0)


def spline_coupling(mask: jax.Array, conditioner, *, bound: float = 3.0) -> Bijector:
    """A coupling whose transformed elements go through rational-quadratic splines
    (Durkan et al. 2019, section 3.1): ``conditioner(m * x) -> params [B, *mask.shape,
    3K - 1]``; the elements with ``mask = 1`` pass through."""
    mask = jnp.asarray(mask, jnp.float32)

    def apply(x, inverse):
        check_floating(x, "x")
        if x.shape[1:] != mask.shape:
            raise ValueError(f"x must have shape [B, *{mask.shape}], got {x.shape}")
        params = conditioner(mask * x)
        y, log_det = rational_quadratic_spline(x, params, bound=bound, inverse=inverse)
        return mask * x + (1.0 - mask) * y, sum_per_example((1.0 - mask) * log_det)

    return Bijector(lambda x: apply(x, False), lambda y: apply(y, True))


def _unit_interval(xi: jax.Array) -> jax.Array:
    """``xi`` clamped to ``[0, 1]`` against rounding; unlike ``jnp.clip``, whose gradient
    is 1/2 at a tie, the gradient at exactly 0 or 1 (an input on a knot) is the true one."""
    return jnp.where(xi < 0.0, 0.0, jnp.where(xi > 1.0, 1.0, xi))
