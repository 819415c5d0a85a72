"""Spectral normalisation of a layer's weights (Miyato et al. 2018, "Spectral Normalization
for Generative Adversarial Networks").

A layer with kernel ``W`` (a convolution's ``[kh, kw, in, out]`` read as a matrix of
``out`` columns) is applied with ``W / sigma(W)``, where ``sigma(W)`` is ``W``'s largest
singular value, estimated by one step of power iteration a call from a vector ``u``
carried over from the last call:

    v <- normalize(u W^T),   u <- normalize(v W),   sigma = v W u^T

``u`` and ``v`` are held constant for the gradient, which flows through ``sigma`` as in the
paper. Each layer's ``u`` (and its last ``sigma``) live in the ``batch_stats`` collection,
so they are checkpointed with the model and a resumed run continues the same iteration.
``u`` moves only when the module is applied in training mode with that collection mutable
(the training pass); a pass with the collection fixed (evaluation, and the per-example
gradient penalties, which differentiate the discriminator example by example) reads it.
Biases and other vectors are left as they are.
"""

from __future__ import annotations

import flax.linen as nn
import jax


def spectrally_normalized(
    module: nn.Module, layer: nn.Module, x: jax.Array, *, enabled: bool, train: bool
) -> jax.Array:
    """``layer(x)``, with its weight matrices divided by their spectral norms when
    ``enabled``; call from ``module``'s compact ``__call__`` (it decides from ``module``
    whether ``u`` may move: only when ``train`` and ``batch_stats`` is mutable)."""
    if not enabled:
        return layer(x)
    update = train and module.is_mutable_collection("batch_stats")
    return nn.SpectralNorm(layer, n_steps=1, collection_name="batch_stats")(x, update_stats=update)
