"""Masked autoregressive flows on vectors: MAF (Papamakarios et al. 2017) and the
autoregressive neural spline flow (Durkan et al. 2019) from gensys's MADE, as Flax modules.

:class:`MADEConditioner` gives each element's transform parameters from the elements
before it (and an optional context); :class:`AutoregressiveLayer` is one MAF layer of
:func:`gensys.flows.masked_autoregressive` with an affine or spline elementwise map;
:class:`AutoregressiveFlow` stacks them with ActNorm. The layers follow the conventions
of :mod:`gensys.nets.flows` (``x -> (y, log_det)``, ``inverse=True`` normalising,
``context`` for a conditional flow) and turn into a bijector with
:func:`gensys.nets.flows.as_bijector`.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from gensys.autoregressive.masks import made_masks
from gensys.flows.bijectors import chain
from gensys.flows.masked_autoregressive import (
    AFFINE,
    bounded_affine_transform,
    masked_autoregressive,
    reverse_features,
    spline_transform,
)
from gensys.flows.splines import num_spline_params
from gensys.nets.flows import ActNorm, apply_direction, run_layers
from gensys.nets.made import MaskedDense

VECTOR_TRANSFORMS = ("affine", "spline")


class MADEConditioner(nn.Module):
    """Parameters ``[B, D, num_params]`` of an autoregressive flow layer from ``x [B, D]``:
    MADE (Germain et al. 2015) with real inputs, the output mask repeated over each
    element's ``num_params`` outputs, so those of element ``d`` read ``x_{<d}`` only (the
    conditioner of :mod:`gensys.flows.masked_autoregressive`). The head starts at zero: the
    layer starts as the identity (affine and spline alike). A ``context [B, K]`` (a
    conditional flow's label) feeds the first hidden layer and the head, unmasked: it is
    not one of the ``x_d``, so the order is kept."""

    hidden: tuple[int, ...]
    num_params: int

    @nn.compact
    def __call__(self, x: jax.Array, context: jax.Array | None = None) -> jax.Array:
        dims = x.shape[-1]
        _, masks = made_masks(dims, tuple(self.hidden))
        h = x
        for i, (width, mask) in enumerate(zip(self.hidden, masks[:-1], strict=True)):
            h = MaskedDense(width)(h, jnp.asarray(mask[0]))
            if i == 0 and context is not None:
                # The context reaches every first-layer unit: it is not one of the x_d, so
                # the outputs of element d still read x_{<d} only.
                h = h + nn.Dense(width, use_bias=False, name="context")(
                    context.reshape(x.shape[0], -1)
                )
            h = nn.relu(h)
        output_mask = jnp.repeat(jnp.asarray(masks[-1][0]), self.num_params, axis=-1)
        head = MaskedDense(dims * self.num_params, kernel_init=nn.initializers.zeros)
        out = head(h, output_mask)
        if context is not None:
            # The first element reads no hidden unit (its mask row is empty): the context
            # reaches the outputs directly too, so every element's map depends on it.
            direct = nn.Dense(dims * self.num_params, use_bias=False,
                              kernel_init=nn.initializers.zeros, name="context_out")  # fmt: skip
            out = out + direct(context.reshape(x.shape[0], -1))
        return out.reshape(x.shape[0], dims, self.num_params)


class AutoregressiveLayer(nn.Module):
    """One MAF layer on vectors ``[B, 1, 1, D]`` (:func:`gensys.flows.masked_autoregressive`)
    with a :class:`MADEConditioner`, its elementwise map affine or a rational-quadratic
    spline, and the features reversed after it when ``reverse``.

    The normalising direction (data to noise) is one pass of the conditioner; the
    generative one takes ``D`` passes in a ``lax.fori_loop``, where the conditioner runs as
    a plain function of this layer's parameters (a bound Flax module cannot be called
    inside a JAX loop): initialise in the normalising direction, as for the other flows.
    """

    transform: str
    hidden: tuple[int, ...]
    num_bins: int = 8
    bound: float = 4.0
    reverse: bool = True
    affine_log_scale_bound: float = 0.0  # > 0: bounded_affine_transform's soft clamp

    @nn.compact
    def __call__(self, x: jax.Array, inverse: bool = False, weights: jax.Array | None = None,
                 context: jax.Array | None = None):  # fmt: skip
        if self.transform not in VECTOR_TRANSFORMS:
            raise ValueError(
                f"transform must be one of {VECTOR_TRANSFORMS}, got {self.transform!r}"
            )
        spline = self.transform == "spline"
        if spline:
            elementwise = spline_transform(self.bound)
        elif self.affine_log_scale_bound > 0:
            elementwise = bounded_affine_transform(self.affine_log_scale_bound)
        else:
            elementwise = AFFINE
        num_params = num_spline_params(self.num_bins) if spline else 2
        net = MADEConditioner(tuple(self.hidden), num_params, name="conditioner")
        if inverse or self.is_initializing():
            conditioner = lambda v: net(v, context)  # noqa: E731
        else:
            params = {"params": self.variables["params"]["conditioner"]}
            detached = MADEConditioner(tuple(self.hidden), num_params)
            conditioner = lambda v: detached.apply(params, v, context)  # noqa: E731
        parts = [masked_autoregressive(conditioner, elementwise)]
        if self.reverse:
            parts.append(reverse_features())
        flat = x.reshape(x.shape[0], -1)
        y, log_det = apply_direction(chain(*parts), flat, inverse)
        return y.reshape(x.shape), log_det


class AutoregressiveFlow(nn.Module):
    """MAF (Papamakarios et al. 2017; ``transform="affine"``) or its spline form, the
    autoregressive neural spline flow (Durkan et al. 2019; ``"spline"``), on vectors
    ``[B, 1, 1, D]`` (an image is flattened to one, in raster order): ``num_layers`` of
    ActNorm (its data-set std floored at ``actnorm_min_std``: a flattened image's ActNorm
    is per pixel, and MNIST's border pixels are constant in a batch) and an
    :class:`AutoregressiveLayer`, the order reversed between layers."""

    transform: str = "affine"
    num_layers: int = 5
    hidden: tuple[int, ...] = (128, 128)
    num_bins: int = 8
    bound: float = 4.0
    actnorm_min_std: float = 0.0
    affine_log_scale_bound: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, inverse: bool = False, weights: jax.Array | None = None,
                 context: jax.Array | None = None):  # fmt: skip
        shape = x.shape
        x = x.reshape(shape[0], 1, 1, -1)  # an image is flattened: ActNorm acts per element
        ops = []
        for i in range(self.num_layers):
            ops.append(ActNorm(self.actnorm_min_std, name=f"layer{i}_actnorm"))
            ops.append(
                AutoregressiveLayer(self.transform, tuple(self.hidden), self.num_bins, self.bound,
                                    reverse=i < self.num_layers - 1,
                                    affine_log_scale_bound=self.affine_log_scale_bound,
                                    name=f"layer{i}_maf")
            )  # fmt: skip
        y, log_det = run_layers(ops, x, inverse, weights, context)
        return y.reshape(shape), log_det
