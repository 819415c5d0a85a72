"""GAN losses as pure functions of the discriminator's outputs, per example.

One public function per loss and player (``nonsaturating_generator_loss(fake_logits)``,
``hinge_discriminator_loss(real_logits, fake_logits)``, ...), and the name table
:data:`LOSS_FUNCTIONS` behind :func:`discriminator_loss` / :func:`generator_loss` that
configs use. Every function takes raw discriminator outputs (logits for the cross-entropy
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

from gensys.checks import check_floating, check_rank, check_same_shape, check_shape

LOSSES = ("minimax", "nonsaturating", "lsgan", "wgan", "wgan_gp", "hinge")

# LSGAN targets: fake a, real b, and the value the generator wants for its fakes c.
LSGAN_A, LSGAN_B, LSGAN_C = 0.0, 1.0, 1.0


def _check_loss(loss: str) -> None:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")


def _check_logits(logits: jax.Array, name: str) -> None:
    """Discriminator outputs are one float per example: ``(B,)``."""
    check_rank(logits, 1, name)
    check_floating(logits, name)


def _check_pair(real_logits: jax.Array, fake_logits: jax.Array) -> None:
    _check_logits(real_logits, "real_logits")
    _check_logits(fake_logits, "fake_logits")
    check_same_shape(fake_logits, real_logits, "fake_logits", "real_logits")


def cross_entropy_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """``-log D(x) - log(1 - D(G(z)))`` per example from logits (Goodfellow et al. 2014),
    the discriminator's loss of both the minimax and the non-saturating game: 2 ln 2 at
    logits 0."""
    _check_pair(real_logits, fake_logits)
    return jax.nn.softplus(-real_logits) + jax.nn.softplus(fake_logits)


minimax_discriminator_loss = cross_entropy_discriminator_loss
nonsaturating_discriminator_loss = cross_entropy_discriminator_loss


def minimax_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """The saturating ``log(1 - D(G(z)))`` of the original game, per example: its gradient
    vanishes when the discriminator rejects the fakes (Goodfellow et al. 2014, Eq. 1)."""
    _check_logits(fake_logits, "fake_logits")
    return -jax.nn.softplus(fake_logits)


def nonsaturating_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """``-log D(G(z))`` per example, ln 2 at logit 0 (Goodfellow et al. 2014's practical
    variant: strong gradients early in training)."""
    _check_logits(fake_logits, "fake_logits")
    return jax.nn.softplus(-fake_logits)


def lsgan_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """``((D(x) - b)^2 + (D(G(z)) - a)^2) / 2`` with a = 0, b = 1 (Mao et al. 2017)."""
    _check_pair(real_logits, fake_logits)
    return 0.5 * (jnp.square(real_logits - LSGAN_B) + jnp.square(fake_logits - LSGAN_A))


def lsgan_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """``(D(G(z)) - c)^2 / 2`` with c = 1 (Mao et al. 2017)."""
    _check_logits(fake_logits, "fake_logits")
    return 0.5 * jnp.square(fake_logits - LSGAN_C)


def wasserstein_critic_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """``D(G(z)) - D(x)`` per example: the critic maximises the Kantorovich-Rubinstein
    estimate of the Wasserstein-1 distance (Arjovsky et al. 2017). Keep the critic
    Lipschitz: :func:`clip_weights` (WGAN) or :func:`gradient_penalty` (WGAN-GP)."""
    _check_pair(real_logits, fake_logits)
    return fake_logits - real_logits


def wasserstein_generator_loss(fake_logits: jax.Array) -> jax.Array:
    """``-D(G(z))`` per example (WGAN, WGAN-GP and the hinge GAN's generator)."""
    _check_logits(fake_logits, "fake_logits")
    return -fake_logits


def hinge_discriminator_loss(real_logits: jax.Array, fake_logits: jax.Array) -> jax.Array:
    """``relu(1 - D(x)) + relu(1 + D(G(z)))`` per example (Lim & Ye 2017; Miyato et al. 2018)."""
    _check_pair(real_logits, fake_logits)
    return jax.nn.relu(1.0 - real_logits) + jax.nn.relu(1.0 + fake_logits)


hinge_generator_loss = wasserstein_generator_loss

# The name table that configs use: loss name -> (discriminator loss, generator loss).
LOSS_FUNCTIONS: dict[str, tuple[Callable[..., jax.Array], Callable[..., jax.Array]]] = {
    "minimax": (cross_entropy_discriminator_loss, minimax_generator_loss),
    "nonsaturating": (cross_entropy_discriminator_loss, nonsaturating_generator_loss),
    "lsgan": (lsgan_discriminator_loss, lsgan_generator_loss),
    "wgan": (wasserstein_critic_loss, wasserstein_generator_loss),
    "wgan_gp": (wasserstein_critic_loss, wasserstein_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
}


def discriminator_loss(loss: str, real: jax.Array, fake: jax.Array) -> jax.Array:
    """The discriminator's (critic's) per-example loss of the loss named ``loss``.

    Args:
        loss: one of :data:`LOSSES` (``wgan_gp`` shares ``wgan``'s terms; add
            :func:`gradient_penalty` for it).
        real: ``D(x)`` on real examples, float ``(B,)``.
        fake: ``D(G(z))`` on generated examples, float ``(B,)``.
    """
    _check_loss(loss)
    return LOSS_FUNCTIONS[loss][0](real, fake)


def generator_loss(loss: str, fake: jax.Array) -> jax.Array:
    """The generator's per-example loss of the loss named ``loss`` from ``D(G(z))``,
    float ``(B,)``."""
    _check_loss(loss)
    return LOSS_FUNCTIONS[loss][1](fake)


def called_real(loss: str, real: jax.Array, fake: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Per example, whether the discriminator calls a real (a fake) example real.

    The decision threshold is logit 0 for the cross-entropy and hinge losses,
    the midpoint of the targets for LSGAN, and for a Wasserstein critic (whose
    values have no fixed scale) the batch's mean critic value on the other side.
    Returns ``(real_called_real, fake_called_real)`` as float ``(B,)``.
    """
    _check_loss(loss)
    _check_pair(real, fake)
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
    check_floating(real, "real")
    check_same_shape(fake, real, "fake", "real")
    check_floating(fake, "fake")
    check_shape(mix, (real.shape[0],), "mix")
    _check_aux(aux, real.shape[0])
    mix = mix.reshape(-1, *([1] * (real.ndim - 1)))
    x_hat = mix * real + (1.0 - mix) * fake
    norms = _input_gradient_norms(critic, x_hat, aux)
    return jnp.square(norms - 1.0)


def r1_penalty(critic: Callable[..., jax.Array], real: jax.Array, *aux: jax.Array) -> jax.Array:
    """R1: ``||grad_x D(x)||^2`` on real examples, per example (Mescheder et al. 2018);
    the discriminator adds ``gamma / 2`` times it. ``critic`` and ``aux`` as in
    :func:`gradient_penalty`."""
    check_floating(real, "real")
    _check_aux(aux, real.shape[0])
    return jnp.square(_input_gradient_norms(critic, real, aux))


def _check_aux(aux, batch: int) -> None:
    for i, a in enumerate(aux):
        if not hasattr(a, "shape") or not a.shape or a.shape[0] != batch:
            raise ValueError(
                f"aux[{i}] must have one entry per example ({batch}), got shape "
                f"{getattr(a, 'shape', type(a).__name__)}"
            )


def _input_gradient_norms(critic: Callable[..., jax.Array], x: jax.Array, aux) -> jax.Array:
    def single(example: jax.Array, *extra: jax.Array) -> jax.Array:
        out = critic(example[None], *(a[None] for a in extra))
        if out.shape != (1,):
            raise ValueError(
                f"critic must map a batch [N, ...] to one value per example (N,), "
                f"got shape {out.shape} for N = 1"
            )
        return out[0]

    grads = jax.vmap(jax.grad(single))(x, *aux)
    # The epsilon keeps the norm's gradient finite where the input gradient is exactly 0.
    return jnp.sqrt(jnp.sum(jnp.square(grads.reshape(x.shape[0], -1)), axis=-1) + 1e-12)


def clip_weights(params, clip: float):
    """WGAN's weight clipping: every parameter into ``[-clip, clip]`` (0.01 in Arjovsky et al.)."""
    return jax.tree.map(lambda p: jnp.clip(p, -clip, clip), params)
