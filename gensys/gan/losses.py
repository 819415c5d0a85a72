"""GAN losses as pure functions of the discriminator's outputs, per example.

Every function takes raw discriminator outputs (logits for the cross-entropy
losses, unbounded critic values otherwise), each ``(B,)``, and returns a
per-example loss ``(B,)`` for the caller to average under the batch mask.
Cross-entropy terms are written with ``softplus`` (``-log sigmoid(l) =
softplus(-l)``, ``-log(1 - sigmoid(l)) = softplus(l)``), never as binary
cross-entropy on probabilities, which is infinite once a sigmoid saturates
(logit 40 in float32).

=================  ===========================================  ==========================
loss               discriminator                                generator
=================  ===========================================  ==========================
``minimax``        ``-log D(x) - log(1 - D(G(z)))``             ``log(1 - D(G(z)))``
``nonsaturating``  same                                         ``-log D(G(z))``
``lsgan``          ``((D(x) - b)^2 + (D(G(z)) - a)^2) / 2``     ``(D(G(z)) - c)^2 / 2``
``wgan``           ``D(G(z)) - D(x)``                           ``-D(G(z))``
``hinge``          ``relu(1 - D(x)) + relu(1 + D(G(z)))``       ``-D(G(z))``
=================  ===========================================  ==========================

Goodfellow et al. 2014 (minimax; the non-saturating generator loss is their
practical variant), Mao et al. 2017 (LSGAN, targets a = 0, b = 1, c = 1),
Arjovsky et al. 2017 (WGAN; the critic's weights are clipped, see
:func:`clip_weights`), Gulrajani et al. 2017 (WGAN-GP: the ``wgan`` losses plus
:func:`gradient_penalty`), Lim & Ye 2017 / Miyato et al. 2018 (hinge), and
Mescheder et al. 2018 (:func:`r1_penalty`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

from gensys.checks import check_same_shape

LOSSES = ("minimax", "nonsaturating", "lsgan", "wgan", "wgan_gp", "hinge")

# LSGAN targets: fake a, real b, and the value the generator wants for its fakes c.
LSGAN_A, LSGAN_B, LSGAN_C = 0.0, 1.0, 1.0


def _check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def discriminator_loss(loss: str, real: jax.Array, fake: jax.Array) -> jax.Array:
    """The discriminator's (critic's) per-example loss from its outputs on real and fake data.

    Args:
        loss: one of :data:`LOSSES` (``wgan_gp`` shares ``wgan``'s terms; add
            :func:`gradient_penalty` for it).
        real: ``D(x)`` on real examples, ``(B,)``.
        fake: ``D(G(z))`` on generated examples, ``(B,)``.
    """
    _check_loss(loss)
    check_same_shape(fake, real, "fake", "real")
    if loss in ("minimax", "nonsaturating"):
        return jax.nn.softplus(-real) + jax.nn.softplus(fake)
    if loss == "lsgan":
        return 0.5 * (jnp.square(real - LSGAN_B) + jnp.square(fake - LSGAN_A))
    if loss in ("wgan", "wgan_gp"):
        return fake - real
    return jax.nn.relu(1.0 - real) + jax.nn.relu(1.0 + fake)  # hinge


def generator_loss(loss: str, fake: jax.Array) -> jax.Array:
    """The generator's per-example loss from ``D(G(z))``, ``(B,)``.

    ``minimax`` is the saturating ``log(1 - D(G(z)))`` of the original game
    (its gradient vanishes when the discriminator rejects the fakes);
    ``nonsaturating`` is ``-log D(G(z))``, ln 2 at logit 0.
    """
    _check_loss(loss)
    if loss == "minimax":
        return -jax.nn.softplus(fake)
    if loss == "nonsaturating":
        return jax.nn.softplus(-fake)
    if loss == "lsgan":
        return 0.5 * jnp.square(fake - LSGAN_C)
    return -fake  # wgan, wgan_gp, hinge


def called_real(loss: str, real: jax.Array, fake: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per example, whether the discriminator calls a real (a fake) example real.

    The decision threshold is logit 0 for the cross-entropy and hinge losses,
    the midpoint of the targets for LSGAN, and for a Wasserstein critic (whose
    values have no fixed scale) the batch's mean critic value on the other side.
    Returns ``(real_called_real, fake_called_real)`` as float ``(B,)``.
    """
    _check_loss(loss)
    if loss == "lsgan":
        threshold_real = threshold_fake = 0.5 * (LSGAN_A + LSGAN_B)
    elif loss in ("wgan", "wgan_gp"):
        threshold_real, threshold_fake = jnp.mean(fake), jnp.mean(real)
    else:
        threshold_real = threshold_fake = 0.0
    return (real > threshold_real).astype(jnp.float32), (fake > threshold_fake).astype(jnp.float32)


def gradient_penalty(
    critic: Callable[..., jax.Array],
    real: jax.Array,
    fake: jax.Array,
    mix: jax.Array,
    *aux: jax.Array,
) -> jax.Array:
    """WGAN-GP's two-sided penalty ``(||grad_x D(x_hat)||_2 - 1)^2`` per example.

    ``x_hat = mix * real + (1 - mix) * fake`` with ``mix ~ U(0, 1)`` per example
    (Gulrajani et al. 2017, Alg. 1; weight lambda = 10 there). The gradient is
    taken per example with ``vmap(grad(...))`` on a batch of one, so it is exact
    for any critic without cross-example terms (no batch norm: use layer norm).

    Args:
        critic: ``(x [N, ...], *aux) -> (N,)`` critic outputs (parameters closed over).
        real, fake: ``[B, ...]`` examples.
        mix: ``(B,)`` interpolation weights (drawn by the caller, so tests can be exact).
        *aux: per-example inputs the critic also takes, ``(B, ...)`` (class labels).
    """
    mix = mix.reshape(-1, *([1] * (real.ndim - 1)))
    x_hat = mix * real + (1.0 - mix) * fake
    norms = _input_gradient_norms(critic, x_hat, aux)
    return jnp.square(norms - 1.0)


def r1_penalty(critic: Callable[..., jax.Array], real: jax.Array, *aux: jax.Array) -> jax.Array:
    """R1: ``||grad_x D(x)||^2`` on real examples, per example (Mescheder et al. 2018);
    the discriminator adds ``gamma / 2`` times it. ``critic`` and ``aux`` as in
    :func:`gradient_penalty`."""
    return jnp.square(_input_gradient_norms(critic, real, aux))


def _input_gradient_norms(critic: Callable[..., jax.Array], x: jax.Array, aux) -> jax.Array:
    def single(example: jax.Array, *extra: jax.Array) -> jax.Array:
        return critic(example[None], *(a[None] for a in extra))[0]

    grads = jax.vmap(jax.grad(single))(x, *aux)
    # The epsilon keeps the norm's gradient finite where the input gradient is exactly 0.
    return jnp.sqrt(jnp.sum(jnp.square(grads.reshape(x.shape[0], -1)), axis=-1) + 1e-12)


def clip_weights(params, clip: float):
    """WGAN's weight clipping: every parameter into ``[-clip, clip]`` (0.01 in Arjovsky et al.)."""
    return jax.tree.map(lambda p: jnp.clip(p, -clip, clip), params)
