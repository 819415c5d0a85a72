"""What the network predicts (epsilon, x0 or v), exact conversions, and loss weightings.

With ``x_t = alpha x_0 + sigma eps`` (variance preserving: ``alpha^2 + sigma^2 = 1``):

- epsilon:  ``x_0 = (x_t - sigma eps) / alpha``                (Ho et al. 2020)
- x0:       the network predicts ``x_0`` itself
- v:        ``v = alpha eps - sigma x_0``; ``x_0 = alpha x_t - sigma v``,
            ``eps = sigma x_t + alpha v``  (Salimans & Ho 2022, Progressive Distillation)

A loss weighting is stated as the weight ``lambda(SNR)`` it puts on the x0 error
``||x0_hat - x_0||^2``, with ``SNR = alpha^2 / sigma^2``. The plain MSE of each
parameterization is one such weighting: epsilon-MSE is ``SNR``, x0-MSE is ``1``,
v-MSE is ``SNR + 1``. The weightings offered:

- ``simple``: the plain MSE of whatever the network predicts;
- ``snr``: ``lambda = SNR`` whatever the parameterization (Ho et al.'s L_simple);
- ``min_snr``: ``lambda = min(SNR, gamma)`` (Hang et al. 2023, "Efficient
  Diffusion Training via Min-SNR Weighting Strategy", gamma = 5).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

PARAMETERIZATIONS = ("eps", "x0", "v")
WEIGHTINGS = ("simple", "snr", "min_snr")


def check_parameterization(parameterization: str) -> None:
    if parameterization not in PARAMETERIZATIONS:
        raise ValueError(
            f"parameterization must be one of {PARAMETERIZATIONS}, got {parameterization!r}"
        )


def to_x0_and_eps(
    parameterization: str, output: jax.Array, x_t: jax.Array, alpha: jax.Array, sigma: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """The ``(x0, eps)`` implied by a network ``output`` at ``x_t = alpha x0 + sigma eps``.

    ``alpha`` and ``sigma`` broadcast against ``x_t`` (e.g. ``[B, 1, 1, 1]``). Epsilon
    prediction cannot give ``x0`` where ``alpha = 0`` (zero terminal SNR): use v there.
    """
    check_parameterization(parameterization)
    if parameterization == "eps":
        return (x_t - sigma * output) / alpha, output
    if parameterization == "x0":
        return output, (x_t - alpha * output) / sigma
    return alpha * x_t - sigma * output, sigma * x_t + alpha * output


def training_target(
    parameterization: str, x0: jax.Array, eps: jax.Array, alpha: jax.Array, sigma: jax.Array
) -> jax.Array:
    """What the network should output for ``x_t = alpha x0 + sigma eps``."""
    check_parameterization(parameterization)
    if parameterization == "eps":
        return eps
    if parameterization == "x0":
        return x0
    return alpha * eps - sigma * x0


def native_x0_weight(parameterization: str, snr: jax.Array) -> jax.Array:
    """``lambda(SNR)`` of the plain MSE of each parameterization: eps SNR, x0 1, v SNR + 1."""
    check_parameterization(parameterization)
    if parameterization == "eps":
        return snr
    if parameterization == "x0":
        return jnp.ones_like(snr)
    return snr + 1.0


def loss_weight(
    weighting: str, parameterization: str, snr: jax.Array, *, gamma: float = 5.0
) -> jax.Array:
    """The factor on the MSE of ``parameterization`` that gives the x0-weight of ``weighting``.

    ``weight * ||output - target||^2 = lambda(SNR) * ||x0_hat - x0||^2``. Where the
    native weight is 0 (epsilon at SNR = 0) the factor is 0: that point carries no
    information about x0.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if weighting == "simple":
        check_parameterization(parameterization)
        return jnp.ones_like(snr)
    target = snr if weighting == "snr" else jnp.minimum(snr, gamma)
    native = native_x0_weight(parameterization, snr)
    return jnp.where(native > 0, target / jnp.where(native > 0, native, 1.0), 0.0)


@dataclasses.dataclass(frozen=True)
class Prediction:
    """A model function together with what it predicts, so the loss, the bound and every
    sampler read the parameterization from one place::

        model = Prediction(lambda x_t, t: net.apply(params, x_t, t), "v")
        loss = diffusion_loss(key, schedule, model, x0)      # v-prediction loss
        x = sample(key, sampler, grid, model, shape)         # converts v to x0 and eps

    ``learned_variance``: the output has ``2C`` channels, the second half the variance
    fraction of Nichol & Dhariwal (2021). A plain ``model_fn`` still works everywhere, with
    ``parameterization=`` given to each function (default ``"eps"``).
    """

    model_fn: Callable[[jax.Array, jax.Array], jax.Array]
    parameterization: str = "eps"
    learned_variance: bool = False

    def __post_init__(self):
        check_parameterization(self.parameterization)
        if not callable(self.model_fn):
            raise TypeError(f"model_fn must be callable, got {type(self.model_fn).__name__}")

    def __call__(self, x_t: jax.Array, t: jax.Array) -> jax.Array:
        return self.model_fn(x_t, t)


def resolve_prediction(
    model_fn, parameterization: str | None, learned_variance: bool | None
) -> tuple[str, bool]:
    """The parameterization and variance flag of ``model_fn``: a :class:`Prediction`'s own
    (a different value given as well is an error), else the given ones (``"eps"``, ``False``
    by default)."""
    if isinstance(model_fn, Prediction):
        for name, given, own in (
            ("parameterization", parameterization, model_fn.parameterization),
            ("learned_variance", learned_variance, model_fn.learned_variance),
        ):
            if given is not None and given != own:
                raise ValueError(
                    f"{name}={given!r} contradicts the Prediction's own {name}={own!r}; "
                    "give it once, in the Prediction"
                )
        return model_fn.parameterization, model_fn.learned_variance
    parameterization = "eps" if parameterization is None else parameterization
    check_parameterization(parameterization)
    return parameterization, bool(learned_variance)
