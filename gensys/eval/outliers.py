"""A likelihood model as an outlier detector: AUROC of ``log p(x)`` separating held-out
data from inputs that are not data.

:func:`auroc` is the area under the ROC curve of the score ``log p(x)`` ranking inliers
above outliers, i.e. the probability that a random inlier scores higher than a random
outlier, ties counting half (the Mann-Whitney U statistic over ``n_in n_out``); scores of
``-inf`` (an input the model rules out) rank lowest. 1 is
perfect separation, 0.5 chance, and below 0.5 the model prefers the outliers (as deep
generative models famously can; Nalisnick et al. 2019, "Do Deep Generative Models Know
What They Don't Know?").

:func:`outlier_sets` builds the usual non-data from images of integer levels: uniform
``noise`` over the levels, ``inverted`` images ``L - 1 - x``, and images ``shifted``
two pixels right and down (zero filled). :func:`perturbed` makes the training data of a
likelihood-ratio background model (Ren et al. 2019, "Likelihood Ratios for
Out-of-Distribution Detection"): each pixel replaced by a uniformly drawn level with
probability ``rate``, which keeps the population's background statistics and destroys
its semantics.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

OUTLIER_KINDS = ("noise", "inverted", "shifted")


def auroc(inlier_scores: np.ndarray, outlier_scores: np.ndarray) -> float:
    """``P(s_in > s_out) + P(s_in = s_out) / 2`` over all pairs, from ranks (``O(n log n)``)."""
    inlier_scores = np.asarray(inlier_scores, np.float64).reshape(-1)
    outlier_scores = np.asarray(outlier_scores, np.float64).reshape(-1)
    if inlier_scores.size == 0 or outlier_scores.size == 0:
        raise ValueError(
            f"need scores on both sides, got {inlier_scores.size} inliers and "
            f"{outlier_scores.size} outliers"
        )
    if np.isnan(inlier_scores).any() or np.isnan(outlier_scores).any():
        raise ValueError("scores must not be NaN (an infinite score is ranked as it is)")
    ranks = stats.rankdata(np.concatenate([inlier_scores, outlier_scores]))
    n_in, n_out = inlier_scores.size, outlier_scores.size
    u = ranks[:n_in].sum() - n_in * (n_in + 1) / 2
    return float(u / (n_in * n_out))


def outlier_sets(images: np.ndarray, num_levels: int, seed: int = 0) -> dict[str, np.ndarray]:
    """``{kind: images}`` for each of :data:`OUTLIER_KINDS`, shaped and typed like ``images``
    (integer levels ``[N, H, W, C]`` in ``[0, num_levels)``)."""
    images = np.asarray(images)
    if images.ndim != 4 or not np.issubdtype(images.dtype, np.integer):
        raise ValueError(f"images must be integer levels [N, H, W, C], got {images.dtype} "
                         f"{images.shape}")  # fmt: skip
    rng = np.random.default_rng(seed)
    shifted = np.zeros_like(images)
    shifted[:, 2:, 2:] = images[:, :-2, :-2]
    return {
        "noise": rng.integers(0, num_levels, images.shape).astype(images.dtype),
        "inverted": (num_levels - 1 - images).astype(images.dtype),
        "shifted": shifted,
    }


def perturbed(images: np.ndarray, num_levels: int, rate: float, seed: int = 0) -> np.ndarray:
    """``images`` with each pixel, independently with probability ``rate``, replaced by a
    level drawn uniformly from ``[0, num_levels)`` (Ren et al. 2019, section 3.1)."""
    images = np.asarray(images)
    if not np.issubdtype(images.dtype, np.integer):
        raise ValueError(f"images must be integer levels, got {images.dtype}")
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    rng = np.random.default_rng(seed)
    replace = rng.random(images.shape) < rate
    noise = rng.integers(0, num_levels, images.shape)
    return np.where(replace, noise, images).astype(images.dtype)
