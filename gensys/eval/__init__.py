"""Evaluation: sample grids, sample-quality metrics, likelihood accounting, feature networks.

Every metric takes plain arrays and runs jitted, in batches (:mod:`gensys.eval.streaming`):

- :mod:`~gensys.eval.frechet` (Frechet distance, streamed Gaussian moments),
  :mod:`~gensys.eval.kid`, :mod:`~gensys.eval.inception_score`,
  :mod:`~gensys.eval.precision_recall`, all at once in :mod:`~gensys.eval.sample_quality`;
- :mod:`~gensys.eval.fid`: FID with Inception-v3 weights from a local file;
- :mod:`~gensys.eval.feature_nets`: gensys's own digit classifiers as feature networks;
- :mod:`~gensys.eval.likelihood`: nats per image and bits/dim in one accounting;
- :mod:`~gensys.eval.outliers`, :mod:`~gensys.eval.mode_coverage`, grids and density maps.
"""

from gensys.eval.frechet import frechet_distance, streamed_gaussian_statistics
from gensys.eval.grids import make_grid, save_grid
from gensys.eval.inception_score import inception_score
from gensys.eval.kid import kernel_inception_distance
from gensys.eval.precision_recall import precision_recall
from gensys.eval.sample_quality import PointFeatures, ReferenceSet, SampleQuality

__all__ = [
    "PointFeatures",
    "ReferenceSet",
    "SampleQuality",
    "frechet_distance",
    "inception_score",
    "kernel_inception_distance",
    "make_grid",
    "precision_recall",
    "save_grid",
    "streamed_gaussian_statistics",
]
