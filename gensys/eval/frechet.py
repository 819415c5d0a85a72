"""The Frechet distance between two Gaussians fitted to feature sets.

``FD = ||mu_1 - mu_2||^2 + tr(C_1 + C_2 - 2 (C_1^{1/2} C_2 C_1^{1/2})^{1/2})``
(Dowson & Landau 1982; with Inception features this is FID, Heusel et al. 2017).
The trace of the matrix square root is taken from the eigenvalues of the
symmetric matrix ``C_1^{1/2} C_2 C_1^{1/2}``, which stays real and stable where
``sqrtm(C_1 C_2)`` of a non-symmetric product can return complex noise.

The estimate is biased upwards for finite samples (more so with fewer samples
and more feature dimensions): compare scores only at equal sample counts.
"""

from __future__ import annotations

import numpy as np


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` (unbiased) of ``features [N, D]``, float64."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be [N >= 2, D], got shape {features.shape}")
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """Squared Frechet (2-Wasserstein) distance between ``N(mu1, cov1)`` and ``N(mu2, cov2)``."""
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != mu1.shape * 2:
        raise ValueError(
            f"mismatched statistics: mu {mu1.shape} / {mu2.shape}, cov {cov1.shape} / {cov2.shape}"
        )
    root = _psd_sqrt(cov1)
    cross = np.linalg.eigvalsh(root @ cov2 @ root)
    trace_sqrt = np.sum(np.sqrt(np.clip(cross, 0, None)))
    value = np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt
    return float(max(value, 0.0))


def frechet_distance_of_features(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to feature sets ``a`` and ``b``."""
    return frechet_distance(*gaussian_statistics(a), *gaussian_statistics(b))
