"""Per-image likelihoods of any trained family, and their use as outlier detectors.

Every gensys family with a likelihood reports ``nll_nats`` per example in its evaluation
(:mod:`gensys.eval.likelihood`: an exact value of, or an upper bound on, ``-log P(x)`` of the
image on its levels): flows (uniform dequantization), VAEs (IWAE), the autoregressive models
(exact), DDPM (the variational bound with ``model.eval_bpd``; its probability-flow ODE with
``model.eval_ode_steps``, as ``ode_nll_nats``) and flow matching (its ODE, with
``model.eval_ode_steps``). :func:`image_nll` runs that evaluation over any images, so one
call scores any of them:

    nll = image_nll(engine, state, images, key, num_levels=17)

:func:`outlier_aurocs` turns the scores into the AUROC of telling held-out data from
non-data (:func:`gensys.eval.outliers.outlier_sets`: noise, inverted, shifted, or any
given set) with the likelihood itself, ``log p(x)``; the typicality correction of
Nalisnick et al. (2019), ``-| -log p(x) - mean training NLL |``, which flags inputs that
are *more* likely than data is, as smooth or shifted images can be for likelihood
models; and, given a background model's NLLs, the likelihood ratio of Ren et al. (2019),
``log p(x) - log p_background(x)``, which cancels what the two models share (the
background's training data: :func:`gensys.eval.outliers.perturbed`).

A class-conditional model (``class_conditional=True``: the conditional VAE, the gated
PixelCNN) is also a classifier by Bayes' rule: :func:`class_log_likelihoods` scores each
image under every label, and :func:`bayes_classify` takes
``argmax_y log p(x | y) + log p(y)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import jax
import numpy as np

from gensys.data.batches import to_model_input
from gensys.eval.outliers import auroc
from gensys.train.engine import Engine, LoopState


def image_batches(
    images: np.ndarray,
    num_levels: int,
    representation: str,
    batch_size: int,
    labels: np.ndarray | None = None,
) -> Iterator[dict[str, np.ndarray]]:
    """Batches of integer-level ``images [N, H, W, C]`` as the data pipeline makes them
    (``image``, ``label``, ``mask``), the last one padded and masked."""
    images = np.asarray(images)
    if images.ndim != 4 or not np.issubdtype(images.dtype, np.integer):
        raise ValueError(
            f"images must be integer levels [N, H, W, C], got {images.dtype} {images.shape}"
        )
    if labels is None:
        labels = np.zeros(len(images), np.int32)
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        count = len(chunk)
        pad = batch_size - count
        x = to_model_input(np.concatenate([chunk, np.zeros((pad, *chunk.shape[1:]), chunk.dtype)]),
                           num_levels, representation)  # fmt: skip
        y = np.concatenate([labels[start : start + count], np.zeros(pad, np.int32)]).astype(
            np.int32
        )
        mask = np.concatenate([np.ones(count, np.float32), np.zeros(pad, np.float32)])
        yield {"image": x, "label": y, "mask": mask}


def image_nll(
    engine: Engine,
    state: LoopState,
    images: np.ndarray,
    key: jax.Array,
    *,
    num_levels: int,
    labels: np.ndarray | None = None,
    batch_size: int = 100,
    metric: str = "nll_nats",
) -> np.ndarray:
    """``-log P(x)`` in nats (or the family's bound on it) of each image, ``(N,)``; ``metric``
    names the eval metric (``ode_nll_nats`` for DDPM's ODE)."""
    batches = image_batches(images, num_levels, engine.recipe.representation, batch_size, labels)
    return engine.per_example(state, batches, key, metric)


def _log_p(nll: np.ndarray) -> np.ndarray:
    """``-nll`` with a NaN (float32 overflow, ``inf - inf``) read as ``-inf``: an input whose
    likelihood under- or overflows is one the model rules out, and ranks last."""
    log_p = -np.asarray(nll, np.float64)
    return np.where(np.isnan(log_p), -np.inf, log_p)


def typicality_scores(nll: np.ndarray, training_nll: np.ndarray) -> np.ndarray:
    """``-|nll - mean(training_nll)|``: high for inputs as likely as the training data is,
    low for those much less *or much more* likely (Nalisnick et al. 2019)."""
    return -np.abs(-_log_p(nll) - float(np.mean(training_nll)))


def likelihood_ratio_scores(nll: np.ndarray, background_nll: np.ndarray) -> np.ndarray:
    """``log p(x) - log p_background(x)`` from the two models' NLLs of the same inputs."""
    nll, background_nll = np.asarray(nll), np.asarray(background_nll)
    if nll.shape != background_nll.shape:
        raise ValueError(f"one NLL per input from each model, got {nll.shape} and "
                         f"{background_nll.shape}")  # fmt: skip
    model, background = _log_p(nll), _log_p(background_nll)
    # Ruled out by the model: -inf whatever the background says (-inf - -inf is NaN).
    with np.errstate(invalid="ignore"):
        return np.where(np.isneginf(model), -np.inf, model - background)


def outlier_aurocs(
    inlier_nll: np.ndarray,
    outlier_nll: Mapping[str, np.ndarray],
    training_nll: np.ndarray,
    *,
    inlier_background_nll: np.ndarray | None = None,
    outlier_background_nll: Mapping[str, np.ndarray] | None = None,
) -> dict[str, dict[str, float]]:
    """``{kind: {"likelihood": AUROC, "typicality": AUROC[, "likelihood_ratio": AUROC]}}``
    of ranking the inliers above each set of outliers by ``log p(x)``, by
    :func:`typicality_scores` and, given a background model's NLLs of the same inputs, by
    :func:`likelihood_ratio_scores`. A non-finite NLL (an input whose likelihood overflows)
    scores ``-inf`` by every score: the model rules it out."""
    if (inlier_background_nll is None) != (outlier_background_nll is None):
        raise ValueError("give the background NLLs of both the inliers and the outliers")
    inlier_typical = typicality_scores(inlier_nll, training_nll)
    table = {}
    for kind, nll in outlier_nll.items():
        table[kind] = {
            "likelihood": auroc(_log_p(inlier_nll), _log_p(nll)),
            "typicality": auroc(inlier_typical, typicality_scores(nll, training_nll)),
        }
        if inlier_background_nll is not None:
            table[kind]["likelihood_ratio"] = auroc(
                likelihood_ratio_scores(inlier_nll, inlier_background_nll),
                likelihood_ratio_scores(nll, outlier_background_nll[kind]),
            )
    return table


def class_log_likelihoods(
    engine: Engine,
    state: LoopState,
    images: np.ndarray,
    key: jax.Array,
    *,
    num_levels: int,
    num_classes: int,
    batch_size: int = 100,
    metric: str = "nll_nats",
) -> np.ndarray:
    """``log p(x | y)`` (or the family's bound on it) of each image under each label,
    ``[N, num_classes]``: the conditional model's evaluation with the label set to ``y``."""
    columns = []
    for label in range(num_classes):
        labels = np.full(len(images), label, np.int32)
        nll = image_nll(engine, state, images, key, num_levels=num_levels, labels=labels,
                        batch_size=batch_size, metric=metric)  # fmt: skip
        columns.append(-nll)
    return np.stack(columns, axis=1)


def bayes_classify(
    class_log_likelihood: np.ndarray, log_prior: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(predictions (N,), log p(y | x) [N, C])`` from ``log p(x | y) [N, C]`` and
    ``log p(y)`` (uniform when omitted) by Bayes' rule."""
    scores = np.asarray(class_log_likelihood, np.float64)
    if log_prior is not None:
        scores = scores + np.asarray(log_prior, np.float64)[None, :]
    log_posterior = scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)
    return np.argmax(log_posterior, axis=1), log_posterior
