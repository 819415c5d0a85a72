"""The Inception Score (Salimans et al. 2016) of a classifier's predictions on samples.

    IS = exp( E_x KL( p(y | x) || p(y) ) ),   p(y) = E_x p(y | x)

computed on each of ``num_splits`` equal parts of the samples, reported as the mean
and standard deviation over the parts (the paper's protocol, 10 splits). It runs
from 1 (every prediction the same, or every prediction uniform) to the number of
classes (confident predictions spread evenly over the classes). With gensys's own
digit classifiers in place of Inception-v3 it is an *analogue*: comparable between
models scored by the same classifier, not with published Inception Scores.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from gensys.checks import check_finite_rows


@dataclasses.dataclass(frozen=True)
class InceptionScore:
    mean: float
    std: float
    num_splits: int


@jax.jit
def _log_score(log_probs: jax.Array) -> jax.Array:
    log_marginal = jax.nn.logsumexp(log_probs, axis=0) - jnp.log(log_probs.shape[0])
    kl = jnp.sum(jnp.exp(log_probs) * (log_probs - log_marginal), axis=-1)
    return jnp.mean(kl)


def inception_score(logits: np.ndarray, *, num_splits: int = 10) -> InceptionScore:
    """The score of class ``logits [N, C]`` over ``num_splits`` parts (the remainder dropped)."""
    logits = np.asarray(logits, np.float32)
    if logits.ndim != 2:
        raise ValueError(f"logits must be [N, C], got shape {logits.shape}")
    check_finite_rows(logits, "logits")
    if num_splits < 1 or len(logits) < num_splits:
        raise ValueError(f"num_splits must be in [1, N={len(logits)}], got {num_splits}")
    part = len(logits) // num_splits
    log_probs = jax.nn.log_softmax(jnp.asarray(logits[: part * num_splits]), axis=-1)
    scores = np.exp([float(_log_score(p)) for p in jnp.split(log_probs, num_splits)])
    return InceptionScore(float(scores.mean()), float(scores.std()), num_splits)
