"""The two players of every adversarial recipe and their alternating updates.

A GAN step is k discriminator updates, then one generator update (Goodfellow et al.
2014, Algorithm 1). The GAN, pix2pix, GAN-INT-CLS and StackGAN recipes all keep the same
:class:`Players` (both players' Flax variables, ``params`` and any ``batch_stats``, and
their optimizer states) and update them with the same two functions:

- :func:`discriminator_step`: one gradient step of the discriminator on
  ``objective(d_variables) -> (per-example loss, (d_variables, values))``; the optional
  ``project`` maps the updated parameters (WGAN's weight clipping);
- :func:`generator_step`: one gradient step of the generator on
  ``objective(g_variables, d_variables) -> (per-example loss, (g_variables, values))``
  against the discriminator as it is now;

and :func:`two_player_step` chains one of each, as pix2pix and the text-conditioned GANs
do; :func:`apply_tracking_stats` applies a player and carries its new batch statistics
(and spectral norms' power-iteration vectors) forward. Losses are averaged under the
batch mask; each ``values`` entry (per example) is averaged the same way and logged
under its name, beside ``d_loss`` / ``g_loss`` and the players' gradient norms.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import optax

from gensys.recipes.state import masked_mean

# d_variables -> (per-example loss (B,), (d_variables with new batch statistics, values))
DiscriminatorObjective = Callable[[Any], tuple[jax.Array, tuple[Any, dict[str, jax.Array]]]]
# (g_variables, d_variables) -> (per-example loss, (g_variables with new statistics, values))
GeneratorObjective = Callable[[Any, Any], tuple[jax.Array, tuple[Any, dict[str, jax.Array]]]]


@flax.struct.dataclass
class Players:
    """A generator's and a discriminator's variables and optimizer states."""

    generator: Any
    discriminator: Any
    g_opt_state: Any
    d_opt_state: Any

    @classmethod
    def create(
        cls,
        g_vars: Any,
        d_vars: Any,
        g_optimizer: optax.GradientTransformation,
        d_optimizer: optax.GradientTransformation | None = None,
    ) -> Players:
        """Both players at step 0 (``d_optimizer`` defaults to ``g_optimizer``)."""
        d_optimizer = g_optimizer if d_optimizer is None else d_optimizer
        return cls(
            g_vars, d_vars, g_optimizer.init(g_vars["params"]), d_optimizer.init(d_vars["params"])
        )


def apply_tracking_stats(module, variables, *args, train: bool, rngs=None):
    """``module.apply`` that also returns the variables with updated batch statistics."""
    if train and "batch_stats" in variables:
        out, updates = module.apply(
            variables, *args, train=True, mutable=["batch_stats"], rngs=rngs
        )
        return out, {**variables, **updates}
    return module.apply(variables, *args, train=train, rngs=rngs), variables


def _averaged(values: dict[str, jax.Array], mask: jax.Array, prefix: str) -> dict:
    return {f"{prefix}{name}": masked_mean(value, mask) for name, value in values.items()}


def discriminator_step(
    players: Players,
    objective: DiscriminatorObjective,
    mask: jax.Array,
    optimizer: optax.GradientTransformation,
    *,
    project: Callable[[Any], Any] | None = None,
    prefix: str = "train/",
) -> tuple[Players, dict[str, jax.Array]]:
    """One discriminator update; returns the new players and ``d_loss``, ``d_grad_norm``
    and the objective's values, each averaged under ``mask``."""
    params = players.discriminator["params"]

    def loss_fn(p):
        per_example, (variables, values) = objective({**players.discriminator, "params": p})
        return masked_mean(per_example, mask), (variables, values)

    (loss, (variables, values)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = optimizer.update(grads, players.d_opt_state, params)
    params = optax.apply_updates(params, updates)
    if project is not None:
        params = project(params)
    metrics = {
        f"{prefix}d_loss": loss,
        f"{prefix}d_grad_norm": optax.tree.norm(grads),
        **_averaged(values, mask, prefix),
    }
    return players.replace(discriminator={**variables, "params": params}, d_opt_state=opt_state), (
        metrics
    )


def generator_step(
    players: Players,
    objective: GeneratorObjective,
    mask: jax.Array,
    optimizer: optax.GradientTransformation,
    *,
    prefix: str = "train/",
) -> tuple[Players, dict[str, jax.Array]]:
    """One generator update against ``players.discriminator``; returns the new players and
    ``g_loss``, ``g_grad_norm`` and the objective's values, each averaged under ``mask``.
    The discriminator's batch statistics from the generator's pass are not kept."""
    params = players.generator["params"]

    def loss_fn(p):
        per_example, (variables, values) = objective(
            {**players.generator, "params": p}, players.discriminator
        )
        return masked_mean(per_example, mask), (variables, values)

    (loss, (variables, values)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = optimizer.update(grads, players.g_opt_state, params)
    generator = {**variables, "params": optax.apply_updates(params, updates)}
    metrics = {
        f"{prefix}g_loss": loss,
        f"{prefix}g_grad_norm": optax.tree.norm(grads),
        **_averaged(values, mask, prefix),
    }
    return players.replace(generator=generator, g_opt_state=opt_state), metrics


def two_player_step(
    players: Players,
    d_objective: DiscriminatorObjective,
    g_objective: GeneratorObjective,
    mask: jax.Array,
    d_optimizer: optax.GradientTransformation,
    g_optimizer: optax.GradientTransformation | None = None,
    *,
    project: Callable[[Any], Any] | None = None,
    prefix: str = "train/",
) -> tuple[Players, dict[str, jax.Array]]:
    """One discriminator update, then one generator update against the updated
    discriminator (``g_optimizer`` defaults to ``d_optimizer``)."""
    players, d_metrics = discriminator_step(
        players, d_objective, mask, d_optimizer, project=project, prefix=prefix
    )
    g_optimizer = d_optimizer if g_optimizer is None else g_optimizer
    players, g_metrics = generator_step(players, g_objective, mask, g_optimizer, prefix=prefix)
    return players, {**d_metrics, **g_metrics}


def mean_metrics(steps: list[dict[str, jax.Array]]) -> dict[str, jax.Array]:
    """Each metric averaged over several updates (a GAN's k discriminator steps)."""
    return jax.tree.map(lambda *v: jnp.mean(jnp.stack(v)), *steps)
