"""The contract between a model family and the one training loop.

A family provides a :class:`Recipe` of pure functions; the loop jits them,
shards their inputs over the device mesh, and owns everything else (keys,
data, checkpoints, metrics, samples, guards):

- ``init(key, example_batch) -> state``: parameters, optimizer state(s), EMA.
  When training starts, ``example_batch`` is a real batch of the training data (for
  data-dependent initialisation); as a template to restore a checkpoint into, zeros.
- ``train_step(state, batch, key) -> (state, metrics)``: one update (a GAN
  updates both players here); ``metrics`` maps names such as ``"train/loss"``
  to scalars. Examples must be weighted by ``batch["mask"]``.
- ``eval_step(state, batch, key) -> metrics``: per-example values ``(B,)``
  (e.g. ``"loss"``, ``"nll_nats"``, ``"bpd"``); the loop averages them over the
  unmasked examples and logs them as ``eval/<name>``.
- ``sample(state, key, num) -> images``: ``[num, H, W, C]`` in ``[-1, 1]``.
- ``figures(state, batch, key) -> {name: images}`` (optional): pictures made
  from a few eval examples (reconstructions, interpolations, latent maps), each
  ``[rows, columns, H, W, C]`` in ``[-1, 1]``; the loop writes them beside the
  samples as ``<name>_<step>.png``.
- ``finalize_eval(means) -> means`` (optional): adds metrics that are functions of
  the averages (e.g. the number of modes whose sample fraction passes a bar).
- ``monitor(train_metrics) -> message | None`` (optional, host side, may keep
  state): called with the averaged ``train/*`` metrics at every log step; a
  message is logged as a warning (e.g. "the discriminator has won for ...").

- ``full_batches`` (optional): the loop then drops each epoch's short last batch instead
  of padding it (batch norm would count the padding in its statistics).

State is any pytree; the loop reads nothing inside it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

Batch = dict[str, jax.Array]
State = Any
Metrics = dict[str, jax.Array]


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A family's pure functions (see the module docstring)."""

    name: str
    init: Callable[[jax.Array, Batch], State]
    train_step: Callable[[State, Batch, jax.Array], tuple[State, Metrics]]
    eval_step: Callable[[State, Batch, jax.Array], Metrics]
    sample: Callable[[State, jax.Array, int], jax.Array]
    representation: str = "float"  # what the data pipeline feeds: "float" or "levels"
    figures: Callable[[State, Batch, jax.Array], dict[str, jax.Array]] | None = None
    finalize_eval: Callable[[dict[str, float]], dict[str, float]] | None = None
    monitor: Callable[[dict[str, float]], str | None] | None = None
    sample_tag: str = ""  # names how ``sample`` draws (e.g. "dpmpp_2m_20steps") in file names
    # Train on full batches only (each epoch's short remainder is dropped, not padded): for
    # networks with batch statistics, which the padding's blank images would shift.
    full_batches: bool = False
