"""Every sample-quality score of a set of images against a reference set, in one call.

A :class:`ReferenceSet` holds the features of real images under a feature network
(:class:`~gensys.eval.feature_nets.FeatureNet`, or any object with ``features`` and
``logits``); :meth:`ReferenceSet.score` gives for a set of images

- ``frechet``: the Frechet distance of Gaussians fitted to the features
  (:mod:`gensys.eval.frechet`; biased upwards at small counts);
- ``kid`` / ``kid_std``: the unbiased KID and its spread over subsets (:mod:`gensys.eval.kid`);
- ``inception_score`` / ``inception_score_std``: the classifier's Inception Score
  analogue (:mod:`gensys.eval.inception_score`);
- ``precision`` / ``recall``: k-NN manifold precision and recall
  (:mod:`gensys.eval.precision_recall`).

Scores mean most beside the **floor**: the same scores of held-out real images of
the same count (``score(real_held_out)``), which is what a perfect model would get.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

import jax
import numpy as np

from gensys.eval.frechet import frechet_distance, gaussian_statistics
from gensys.eval.inception_score import inception_score
from gensys.eval.kid import kernel_inception_distance
from gensys.eval.precision_recall import fraction_inside, manifold_radii


class FeatureExtractor(Protocol):
    """``features(images) -> [N, D]``; ``logits(images) -> [N, C]`` or ``None`` when the
    extractor has no classes (then the Inception Score is NaN)."""

    def features(self, images: np.ndarray) -> np.ndarray: ...

    def logits(self, images: np.ndarray) -> np.ndarray | None: ...


class PointFeatures:
    """The identity "feature network" of low-dimensional data (the 2-D toy densities):
    the points are their own features, and there are no classes."""

    def features(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, np.float32)
        return points.reshape(len(points), -1)

    def logits(self, points: np.ndarray) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class SampleQuality:
    num: int
    frechet: float
    kid: float
    kid_std: float
    inception_score: float
    inception_score_std: float
    precision: float
    recall: float

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


class ReferenceSet:
    """Features, Gaussian statistics and k-NN radii of real ``images [N, H, W, C]`` in [-1, 1]."""

    def __init__(self, extractor: FeatureExtractor, images: np.ndarray, *, k: int = 3):
        self.extractor, self.k = extractor, k
        self.features = extractor.features(images)
        self.statistics = gaussian_statistics(self.features)
        self.radii = manifold_radii(self.features, k=k)

    def score(
        self,
        images: np.ndarray,
        *,
        key: jax.Array,
        kid_subsets: int = 100,
        kid_subset_size: int = 1000,
        num_splits: int = 10,
    ) -> SampleQuality:
        """The scores of ``images [M, H, W, C]`` in ``[-1, 1]`` (module docstring)."""
        features = self.extractor.features(images)
        kid = kernel_inception_distance(
            self.features, features, key=key, num_subsets=kid_subsets, subset_size=kid_subset_size
        )
        logits = self.extractor.logits(images)
        score = inception_score(logits, num_splits=num_splits) if logits is not None else None
        return SampleQuality(
            num=len(features),
            frechet=frechet_distance(*gaussian_statistics(features), *self.statistics),
            kid=kid.mean,
            kid_std=kid.std,
            inception_score=score.mean if score else float("nan"),
            inception_score_std=score.std if score else float("nan"),
            precision=fraction_inside(features, self.features, self.radii),
            recall=fraction_inside(self.features, features, manifold_radii(features, k=self.k)),
        )
