"""The noise distribution of variational dequantization (Ho et al. 2019, "Flow++",
section 3.1): a flow ``q(u | x)`` on the unit cube, conditioned on the image.

A flow on integer levels ``x`` models ``y = (x + u) / L``; with ``u ~ q(u | x)`` on
``[0, 1)^D`` instead of the uniform,

    log P(x) >= E_q[ log p((x + u) / L) - D log L - log q(u | x) ]

(:func:`gensys.flows.distribution.variational_dequantization_bound`): the gap to
``log P(x)`` is ``KL(q(u | x) || p(u | x))``, with ``p(u | x)`` the flow's density of the
noise given the levels, so a learned ``q`` can close what the uniform one (``log q = 0``)
leaves open.

:class:`VariationalDequantizer` draws ``u`` from standard logistic noise ``eps``
through ``num_steps`` checkerboard affine couplings at the image's resolution, each
conditioner also reading a feature map of ``x`` (a small conv net, Flow++'s
"conditioning network"), then a sigmoid onto ``(0, 1)``:

    u = sigmoid(f(eps; x)),   log q(u | x) = log Logistic(eps) - log|det df/deps|
                                              - sum_d log sigmoid'(f_d)

The couplings start as the identity (zero heads) and the sigmoid of logistic noise is
uniform, so training starts from uniform dequantization exactly (``log q = 0``).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.flows.bijectors import sum_per_example
from gensys.nets.flows import Coupling, run_layers


class VariationalDequantizer(nn.Module):
    """``(u, log q(u | x))`` from standard logistic noise ``eps [B, H, W, C]``
    (``jax.random.logistic``) and the image ``x`` (its levels scaled to ``[-1/2, 1/2]``,
    same shape). With ``inverse=True`` the first argument is a given ``u`` in ``(0, 1)``
    instead, and the result ``(eps, log q(u | x))``: the noise that draws it, and its
    density.

    Attributes:
        hidden: channels of the conditioning net and of each coupling's conditioner.
        num_steps: checkerboard coupling steps (alternating parity).
    """

    hidden: int = 32
    num_steps: int = 4

    @nn.compact
    def __call__(
        self, eps: jax.Array, x: jax.Array, inverse: bool = False
    ) -> tuple[jax.Array, jax.Array]:
        if eps.shape != x.shape or eps.ndim != 4:
            raise ValueError(f"eps and x must be images [B, H, W, C] of one shape, got "
                             f"{eps.shape} and {x.shape}")  # fmt: skip
        features = nn.relu(nn.Conv(self.hidden, (3, 3), name="features_in")(x))
        features = nn.relu(nn.Conv(self.hidden, (3, 3), name="features_out")(features))
        ops = []
        for i in range(self.num_steps):
            ops.append(Coupling("checkerboard", i % 2, self.hidden, name=f"step{i}_coupling"))
        if inverse:  # u to the noise: logit, then the couplings backwards
            u = eps
            z = jnp.log(u) - jnp.log1p(-u)
            noise, log_det = run_layers(ops, z, True, None, features)  # log|d noise / d z|
            log_det = log_det - _sum_log_sigmoid_slopes(z)  # and dz/du = 1 / sigmoid'(z)
            return noise, _sum_log_sigmoid_slopes(noise) + log_det
        # The generative direction (noise to u): what training draws.
        z, log_det = run_layers(ops, eps, False, None, features)
        u = jax.nn.sigmoid(z)
        log_det = log_det + _sum_log_sigmoid_slopes(z)
        log_q = _sum_log_sigmoid_slopes(eps) - log_det  # the logistic density is sigmoid'
        return u, log_q


def _sum_log_sigmoid_slopes(z: jax.Array) -> jax.Array:
    """``sum_d log sigmoid'(z_d)`` per example, ``sigmoid' = sigmoid(z) sigmoid(-z)``."""
    return sum_per_example(jax.nn.log_sigmoid(z) + jax.nn.log_sigmoid(-z))
