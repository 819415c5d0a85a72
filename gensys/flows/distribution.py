"""A flow distribution (a base density pushed through a bijector), and the likelihood of
discrete data under it through uniform dequantization.

Change of variables (Dinh et al. 2017, eq. 3): with ``(z, log|det dz/dx|) =
bijector.inverse_and_log_det(x)``,

    log p(x) = log N(z; 0, I) + log|det dz/dx|.

Images are discrete: ``D`` pixels with ``L`` levels each. Uniform dequantization
(Theis et al. 2016; Ho et al. 2019, section 3.1) feeds the flow ``y = (k + u) / L`` with
``u ~ U[0, 1)^D``, and by Jensen's inequality

    log P(k) = log integral p_y((k + u) / L) L^-D du  >=  E_u[log p_y(y)] - D log L,

so ``nll_nats = -(log p_y(y) - D log L)`` is an unbiased estimate of an upper bound on
the discrete NLL, and ``bpd = nll_nats / (D ln 2)``. A uniform ``p_y`` on ``[0, 1]^D``
gives ``log2 L`` bits per dimension: 8 for 8-bit images. Variational dequantization
(Ho et al. 2019) draws ``u`` from a learned ``q(u | k)`` instead and subtracts
``log q(u | k)`` (:func:`variational_dequantization_bound`; the noise flow is
:class:`gensys.nets.dequantization.VariationalDequantizer`).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from gensys.checks import check_floating, check_levels, check_rank
from gensys.distributions import normal_log_prob
from gensys.flows.bijectors import Bijector, sum_per_example


@dataclasses.dataclass(frozen=True)
class FlowDistribution:
    """``x = bijector.forward(z)``, ``z ~ N(0, I)`` of shape ``event_shape``."""

    bijector: Bijector
    event_shape: tuple[int, ...]

    def log_prob(self, x: jax.Array) -> jax.Array:
        """``log p(x)`` in nats, ``[B, *event_shape] -> (B,)``."""
        check_floating(x, "x")
        if x.shape[1:] != tuple(self.event_shape):
            raise ValueError(f"x must have shape [B, *{tuple(self.event_shape)}], got {x.shape}")
        z, log_det = self.bijector.inverse_and_log_det(x)
        return sum_per_example(normal_log_prob(z, 0.0, 0.0)) + log_det

    def sample(self, key: jax.Array, num: int, temperature: float = 1.0) -> jax.Array:
        """``num`` samples ``[num, *event_shape]``; ``temperature`` scales the base's std
        (Kingma & Dhariwal 2018, section 5.3: below 1 trades diversity for fidelity)."""
        if temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {temperature}")
        z = temperature * jax.random.normal(key, (num, *self.event_shape), jnp.float32)
        return self.bijector.forward(z)


def uniform_dequantize(key: jax.Array, levels: jax.Array, num_levels: int) -> jax.Array:
    """``y = (k + u) / L`` in ``[0, 1)`` with ``u ~ U[0, 1)``, for integer levels ``k`` in
    ``[0, L)`` (outside it: an error when concrete, NaN under ``jit``)."""
    return dequantize(levels, jax.random.uniform(key, levels.shape, jnp.float32), num_levels)


def discrete_log_likelihood_bound(log_density: jax.Array, num_levels: int, dims: int) -> jax.Array:
    """``log p_y(y) - D log L``: the dequantization bound above, from the flow's
    ``log_density (B,)`` of the dequantized ``y`` in ``[0, 1)^D``."""
    check_rank(log_density, 1, "log_density")
    return log_density - dims * math.log(num_levels)


def dequantize(levels: jax.Array, noise: jax.Array, num_levels: int) -> jax.Array:
    """``y = (k + u) / L`` for given noise ``u`` in ``[0, 1)`` (levels outside ``[0, L)``:
    an error when concrete, NaN under ``jit``)."""
    if num_levels < 2:
        raise ValueError(f"num_levels must be >= 2, got {num_levels}")
    valid = check_levels(levels, num_levels, "levels")
    return jnp.where(valid, (levels.astype(jnp.float32) + noise) / num_levels, jnp.nan)


def variational_dequantization_bound(
    log_density: jax.Array, log_q: jax.Array, num_levels: int, dims: int
) -> jax.Array:
    """``log p_y(y) - D log L - log q(u | k)`` with ``u ~ q(u | k)`` on ``[0, 1)^D``
    (Ho et al. 2019, eq. 12): by Jensen's inequality on
    ``log P(k) = log E_q[p_y((k + u) / L) L^-D / q(u | k)]``, a lower bound on ``log P(k)``
    whose gap is ``KL(q(u | k) || p(u | k))``. ``log_q = 0`` (the uniform ``q``) gives
    :func:`discrete_log_likelihood_bound`."""
    check_rank(log_q, 1, "log_q")
    return discrete_log_likelihood_bound(log_density, num_levels, dims) - log_q
