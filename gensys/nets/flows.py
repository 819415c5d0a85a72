"""Flow networks: conditioners, flow layers, and the RealNVP / Glow models built from
the bijectors of :mod:`gensys.flows`.

Every layer and model maps ``x -> (y, log_det (B,))`` with ``inverse=False`` the
generative direction (noise to data) and ``inverse=True`` the normalising one (data to
noise), as :class:`gensys.flows.Bijector` does; :func:`as_bijector` turns a model and
its parameters into one. Initialise in the normalising direction on a real batch
(``model.init(key, x, inverse=True, weights=mask)``): ActNorm sets its parameters from
the activations it sees there (Kingma & Dhariwal 2018, section 3.1).

- :class:`MultiScaleFlow`: the multi-scale image flows of Dinh et al. (2017) and Kingma
  & Dhariwal (2018), shape preserving (factored-out halves are put back in place).
  ``architecture="realnvp"``: per scale, checkerboard couplings, squeeze, channel
  couplings, factor out half; the last scale checkerboard couplings only. Each coupling
  is preceded by ActNorm where RealNVP used batch norm (the same affine form, without
  batch statistics). ``architecture="glow"``: per scale, squeeze, then steps of
  ActNorm, invertible 1x1 convolution and a channel coupling, then factor out half with
  a learned prior ``N(mu(h), sigma(h)^2)`` given the kept half (``learned_prior``).
- :class:`CouplingFlow`: a flow on vectors ``[B, 1, 1, D]`` (the 2-D toy densities) of
  ActNorm, an optional 1x1 mixing (``architecture="glow"``) and channel couplings with
  MLP conditioners.
- MAF and the autoregressive spline flow: :mod:`gensys.nets.autoregressive_flows`, built
  from this module's ActNorm and :func:`run_layers`.

Conditional flows: every model and layer also takes ``context`` (``None``, a vector
``[B, K]`` such as a label's one-hot, or for the conv conditioners a map ``[B, H, W, K]``
of the image's size) that every conditioner reads beside its input, so ``x -> z`` is a
bijection for each context: ``p(x | c)`` (a class-conditional flow, or the noise flow of
:mod:`gensys.nets.dequantization`). ActNorm and the 1x1 convolutions ignore it.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.flows.bijectors import (
    Bijector,
    actnorm,
    actnorm_data_init,
    lu_conv1x1,
    lu_conv1x1_init,
    squeeze,
)
from gensys.flows.coupling import (
    additive_coupling,
    affine_coupling,
    channel_mask,
    checkerboard_mask,
)

ARCHITECTURES = ("realnvp", "glow")


def apply_direction(bijector: Bijector, x: jax.Array, inverse: bool):
    """``bijector``'s inverse (normalising) pass when ``inverse``, else its forward one."""
    return bijector.inverse_and_log_det(x) if inverse else bijector.forward_and_log_det(x)


def _context_maps(x: jax.Array, context: jax.Array | None) -> list[jax.Array]:
    """A conv conditioner's extra input channels: none, a context vector ``[B, K]``
    broadcast over the image, or a context map ``[B, H, W, K]`` of the image's size."""
    if context is None:
        return []
    if context.ndim == 2:
        return [jnp.broadcast_to(context[:, None, None, :], (*x.shape[:3], context.shape[-1]))]
    if context.shape[:3] != x.shape[:3]:
        raise ValueError(f"a context map must be [B, H, W, K] of the image's {x.shape[:3]}, "
                         f"got {context.shape}")  # fmt: skip
    return [context.astype(x.dtype)]


class ActNorm(nn.Module):
    """Per-channel affine with data-dependent initialisation (see the module docstring);
    ``min_std`` floors the std it normalises by (:func:`gensys.flows.actnorm_data_init`)."""

    min_std: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, inverse: bool = False, weights: jax.Array | None = None,
                 context: jax.Array | None = None):  # fmt: skip
        del context  # unconditional
        stats = {}

        def from_data(name):
            def init(_key):
                if not stats:
                    stats["log_scale"], stats["bias"] = actnorm_data_init(
                        x, weights, min_std=self.min_std
                    )
                return stats[name]

            return init

        log_scale = self.param("log_scale", from_data("log_scale"))
        bias = self.param("bias", from_data("bias"))
        return apply_direction(actnorm(log_scale, bias), x, inverse)


class InvertibleConv1x1(nn.Module):
    """Glow's invertible 1x1 convolution, LU-parameterized, initialised to a random rotation."""

    @nn.compact
    def __call__(self, x: jax.Array, inverse: bool = False, weights: jax.Array | None = None,
                 context: jax.Array | None = None):  # fmt: skip
        del weights, context  # unconditional, and initialised at random
        lu = self.param("lu", lambda key: lu_conv1x1_init(key, x.shape[-1]))
        bijector = lu_conv1x1(lu["permutation"], lu["lower"], lu["upper"], lu["sign"], lu["log_s"])
        return apply_direction(bijector, x, inverse)


class ConvConditioner(nn.Module):
    """``(shift, log_scale)`` for an image coupling from ``m * x`` and the mask ``m``:
    3x3 conv, ``num_blocks`` residual blocks (3x3 then 1x1), a zero-initialised 3x3 conv
    (so a fresh coupling is the identity), and ``log_scale = rescale * tanh(raw)`` with a
    learned per-channel ``rescale`` (Dinh et al. 2017, section 4.1)."""

    hidden: int
    num_blocks: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array, context: jax.Array | None = None):
        c = x.shape[-1]
        h = jnp.concatenate([x, jnp.broadcast_to(mask, x.shape), *_context_maps(x, context)], -1)
        h = nn.relu(nn.Conv(self.hidden, (3, 3))(h))
        for _ in range(self.num_blocks):
            r = nn.relu(nn.Conv(self.hidden, (3, 3))(h))
            h = nn.relu(h + nn.Conv(self.hidden, (1, 1))(r))
        out = nn.Conv(2 * c, (3, 3), kernel_init=nn.initializers.zeros)(h)
        shift, raw = out[..., :c], out[..., c:]
        rescale = self.param("rescale", nn.initializers.ones, (c,))
        return shift, rescale * jnp.tanh(raw)


class MLPConditioner(nn.Module):
    """``(shift, log_scale)`` for a vector coupling: an MLP on the flattened ``m * x`` with a
    zero-initialised head and the same bounded scale as :class:`ConvConditioner`."""

    hidden: tuple[int, ...]

    @nn.compact
    def __call__(self, x: jax.Array, mask: jax.Array, context: jax.Array | None = None):
        d = x.shape[1:]
        h = x.reshape(x.shape[0], -1)
        if context is not None:
            h = jnp.concatenate([h, context.reshape(x.shape[0], -1)], axis=-1)
        for width in self.hidden:
            h = nn.relu(nn.Dense(width)(h))
        size = h.shape[0], *d
        out = nn.Dense(2 * x[0].size, kernel_init=nn.initializers.zeros)(h)
        shift, raw = out[:, : x[0].size].reshape(size), out[:, x[0].size :].reshape(size)
        rescale = self.param("rescale", nn.initializers.ones, d)
        return shift, rescale * jnp.tanh(raw)


class Coupling(nn.Module):
    """An affine (or additive) coupling with a ``checkerboard`` or ``channel`` mask of the
    given parity and a conv (``hidden: int``) or MLP (``hidden: tuple``) conditioner."""

    mask_kind: str
    parity: int
    hidden: int | tuple[int, ...]
    num_blocks: int = 1
    additive: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, inverse: bool = False, weights: jax.Array | None = None,
                 context: jax.Array | None = None):  # fmt: skip
        event = x.shape[1:]
        if self.mask_kind == "checkerboard":
            mask = checkerboard_mask(event, self.parity)
        elif self.mask_kind == "channel":
            mask = channel_mask(event, self.parity)
        else:
            raise ValueError(f"mask_kind must be checkerboard or channel, got {self.mask_kind!r}")
        if isinstance(self.hidden, int):
            net = ConvConditioner(self.hidden, self.num_blocks, name="conditioner")
        else:
            net = MLPConditioner(tuple(self.hidden), name="conditioner")
        if self.additive:
            bijector = additive_coupling(mask, lambda masked: net(masked, mask, context)[0])
        else:
            bijector = affine_coupling(mask, lambda masked: net(masked, mask, context))
        return apply_direction(bijector, x, inverse)


def run_layers(ops, x, inverse, weights, context=None):
    """Runs flow layers ``op(x, inverse, weights, context)`` in the listed (normalising)
    order, or reversed for the generative one; ``(x, summed log-det)``."""
    total = jnp.zeros((x.shape[0],), jnp.float32)
    for op in ops if inverse else ops[::-1]:
        x, log_det = op(x, inverse, weights, context)
        total = total + log_det
    return x, total


class MultiScaleFlow(nn.Module):
    """RealNVP or Glow on images ``[B, H, W, C]`` (see the module docstring).

    Attributes:
        architecture: ``"realnvp"`` or ``"glow"``.
        num_scales: scales (each but the last factors out half of its channels).
        steps_per_scale: couplings per half-scale (RealNVP: 3 in the paper) or flow steps
            per scale (Glow: K).
        hidden: conditioner width; num_blocks: its residual blocks.
        additive: NICE's additive couplings instead of affine ones.
        learned_prior: Glow's learned prior for the factored-out halves.
    """

    architecture: str = "glow"
    num_scales: int = 2
    steps_per_scale: int = 4
    hidden: int = 64
    num_blocks: int = 1
    additive: bool = False
    learned_prior: bool = True

    def _scale(self, s: int) -> dict:
        last = s == self.num_scales - 1
        k, name = self.steps_per_scale, f"scale{s}"

        def coupling(kind, i, parity):
            return Coupling(
                kind, parity, self.hidden, self.num_blocks, self.additive, name=f"{name}_{i}"
            )

        pre, post = [], []
        if self.architecture == "realnvp":
            for i in range(k + 1 if last else k):
                pre += [ActNorm(name=f"{name}_{i}_actnorm"), coupling("checkerboard", i, i % 2)]
            if not last:
                for i in range(k, 2 * k):
                    post += [ActNorm(name=f"{name}_{i}_actnorm"), coupling("channel", i, i % 2)]
        else:
            for i in range(k):
                post += [
                    ActNorm(name=f"{name}_{i}_actnorm"),
                    InvertibleConv1x1(name=f"{name}_{i}_conv1x1"),
                    coupling("channel", i, i % 2),
                ]
        squeezes = self.architecture == "glow" or not last
        prior = None
        if not last and self.learned_prior:
            prior = Coupling("channel", 0, self.hidden, self.num_blocks, name=f"{name}_prior")
        return {"pre": pre, "squeeze": squeezes, "post": post, "split": not last, "prior": prior}

    @nn.compact
    def __call__(self, x: jax.Array, inverse: bool = False, weights: jax.Array | None = None,
                 context: jax.Array | None = None):  # fmt: skip
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}"
            )
        if context is not None and context.ndim != 2:
            raise ValueError(
                f"a multi-scale flow takes a context vector [B, K] (it squeezes the image), "
                f"got {context.shape}"
            )
        scales = [self._scale(s) for s in range(self.num_scales)]
        if inverse:
            return self._normalize(scales, 0, x, weights, context)
        return self._generate(scales, 0, x, context)

    def _normalize(self, scales, s, h, weights, context):
        scale, sq = scales[s], squeeze()
        h, total = run_layers(scale["pre"], h, True, weights, context)
        if scale["squeeze"]:
            h = sq.forward(h)
        h, log_det = run_layers(scale["post"], h, True, weights, context)
        total = total + log_det
        if scale["split"]:
            if scale["prior"] is not None:
                h, log_det = scale["prior"](h, True, weights, context)
                total = total + log_det
            half = h.shape[-1] // 2
            kept, log_det = self._normalize(scales, s + 1, h[..., :half], weights, context)
            h = jnp.concatenate([kept, h[..., half:]], axis=-1)
            total = total + log_det
        if scale["squeeze"]:
            h = sq.inverse(h)
        return h, total

    def _generate(self, scales, s, z, context):
        scale, sq = scales[s], squeeze()
        total = jnp.zeros((z.shape[0],), jnp.float32)
        if scale["squeeze"]:
            z = sq.forward(z)
        if scale["split"]:
            half = z.shape[-1] // 2
            kept, log_det = self._generate(scales, s + 1, z[..., :half], context)
            z = jnp.concatenate([kept, z[..., half:]], axis=-1)
            total = total + log_det
            if scale["prior"] is not None:
                z, log_det = scale["prior"](z, False, None, context)
                total = total + log_det
        z, log_det = run_layers(scale["post"], z, False, None, context)
        total = total + log_det
        if scale["squeeze"]:
            z = sq.inverse(z)
        z, log_det = run_layers(scale["pre"], z, False, None, context)
        return z, total + log_det


class CouplingFlow(nn.Module):
    """A flow on vectors ``[B, 1, 1, D]``: ``num_layers`` of ActNorm, (Glow) a 1x1 mixing,
    and a channel coupling with alternating halves and an MLP conditioner of ``hidden``."""

    architecture: str = "realnvp"
    num_layers: int = 8
    hidden: tuple[int, ...] = (128, 128)
    additive: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, inverse: bool = False, weights: jax.Array | None = None,
                 context: jax.Array | None = None):  # fmt: skip
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {ARCHITECTURES}, got {self.architecture!r}"
            )
        ops = []
        for i in range(self.num_layers):
            ops.append(ActNorm(name=f"layer{i}_actnorm"))
            if self.architecture == "glow":
                ops.append(InvertibleConv1x1(name=f"layer{i}_conv1x1"))
            ops.append(
                Coupling("channel", i % 2, tuple(self.hidden), additive=self.additive,
                         name=f"layer{i}_coupling")
            )  # fmt: skip
        return run_layers(ops, x, inverse, weights, context)


def as_bijector(model: nn.Module, params, context: jax.Array | None = None) -> Bijector:
    """The bijector of a flow model with its parameters (forward: noise to data), given
    ``context`` for a conditional flow (one row per example)."""
    return Bijector(
        forward_and_log_det=lambda z: model.apply(params, z, inverse=False, context=context),
        inverse_and_log_det=lambda x: model.apply(params, x, inverse=True, context=context),
    )
