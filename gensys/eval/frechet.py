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

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from gensys.checks import check_finite_rows
from gensys.eval.streaming import iterate_batches


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` (unbiased) of ``features [N, D]``, float64."""
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be [N >= 2, D], got shape {features.shape}")
    check_finite_rows(features, "features")
    return features.mean(axis=0), np.cov(features, rowvar=False)


@jax.jit
def _shifted_sums(features: jax.Array, shift: jax.Array, weight: jax.Array):
    centred = (features - shift) * weight[:, None]
    return jnp.sum(centred, 0), centred.T @ (features - shift)


class GaussianMoments:
    """Mean and covariance of features that arrive in batches (never all in memory).

    Each batch's sum and sum of outer products run jitted on the device; they are
    accumulated in float64 on the host around a shift (the first batch's mean), so
    the covariance ``E[(x - s)(x - s)^T] - (mu - s)(mu - s)^T`` does not cancel.
    """

    def __init__(self) -> None:
        self.count = 0
        self.shift = self.sum = self.outer = None

    def update(self, features: np.ndarray, num_valid: int | None = None) -> None:
        """Adds the first ``num_valid`` (default all) rows of ``features [B, D]``."""
        features = np.asarray(features, np.float32)
        if features.ndim != 2:
            raise ValueError(f"features must be [B, D], got shape {features.shape}")
        check_finite_rows(features[: len(features) if num_valid is None else num_valid], "features")
        valid = len(features) if num_valid is None else num_valid
        if self.shift is None:
            self.shift = features[:valid].mean(0)
            self.sum = np.zeros(features.shape[1])
            self.outer = np.zeros((features.shape[1],) * 2)
        weight = (np.arange(len(features)) < valid).astype(np.float32)
        total, outer = _shifted_sums(features, self.shift, weight)
        self.count += valid
        self.sum += np.asarray(total, np.float64)
        self.outer += np.asarray(outer, np.float64)

    def statistics(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean ``(D,)`` and unbiased covariance ``(D, D)``, float64."""
        if self.count < 2:
            raise ValueError(f"need at least 2 feature vectors, got {self.count}")
        centred_mean = self.sum / self.count
        cov = (self.outer - self.count * np.outer(centred_mean, centred_mean)) / (self.count - 1)
        return self.shift + centred_mean, (cov + cov.T) / 2


def streamed_gaussian_statistics(
    feature_fn: Callable[..., jax.Array], images: np.ndarray, *constants, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of ``feature_fn(batch, *constants)`` (``[B, ...] -> [B, D]``,
    one compiled shape) over ``images [N, ...]`` a batch at a time."""
    moments = GaussianMoments()
    for features, valid in iterate_batches(feature_fn, images, *constants, batch_size=batch_size):
        moments.update(np.asarray(features), valid)
    return moments.statistics()


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def _trace_sqrt_pytorch_fid(cov1: np.ndarray, cov2: np.ndarray, eps: float = 1e-6) -> float:
    """``tr sqrtm(C_1 C_2)`` as pytorch-fid computes it: SciPy's ``sqrtm`` of the product,
    ``eps I`` added to both when it is not finite, and an error when the root has an
    imaginary diagonal component above 1e-3 (otherwise the real part is kept)."""
    import scipy.linalg

    root = scipy.linalg.sqrtm(cov1 @ cov2)
    if not np.isfinite(root).all():
        offset = np.eye(len(cov1)) * eps
        root = scipy.linalg.sqrtm((cov1 + offset) @ (cov2 + offset))
    if np.iscomplexobj(root):
        imaginary = np.max(np.abs(np.diagonal(root).imag))
        if imaginary > 1e-3:
            raise ValueError(f"the matrix square root has an imaginary component {imaginary:.3g}")
        root = root.real
    return float(np.trace(root))


def frechet_distance(
    mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray, *, method: str = "eigh"
) -> float:
    """Squared Frechet (2-Wasserstein) distance between ``N(mu1, cov1)`` and ``N(mu2, cov2)``.

    ``method="eigh"`` takes the trace term from the eigenvalues of the symmetric
    ``C_1^{1/2} C_2 C_1^{1/2}``; ``"sqrtm"`` from ``sqrtm(C_1 C_2)`` exactly as pytorch-fid
    does (for figures to be quoted beside published FIDs). They agree to rounding.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    cov1, cov2 = np.atleast_2d(cov1).astype(np.float64), np.atleast_2d(cov2).astype(np.float64)
    if mu1.shape != mu2.shape or cov1.shape != cov2.shape or cov1.shape != mu1.shape * 2:
        raise ValueError(
            f"mismatched statistics: mu {mu1.shape} / {mu2.shape}, cov {cov1.shape} / {cov2.shape}"
        )
    if method == "eigh":
        root = _psd_sqrt(cov1)
        cross = np.linalg.eigvalsh(root @ cov2 @ root)
        trace_sqrt = np.sum(np.sqrt(np.clip(cross, 0, None)))
    elif method == "sqrtm":
        trace_sqrt = _trace_sqrt_pytorch_fid(cov1, cov2)
    else:
        raise ValueError(f"method must be 'eigh' or 'sqrtm', got {method!r}")
    value = np.sum((mu1 - mu2) ** 2) + np.trace(cov1) + np.trace(cov2) - 2 * trace_sqrt
    return float(max(value, 0.0))


def frechet_distance_of_features(a: np.ndarray, b: np.ndarray) -> float:
    """The Frechet distance between Gaussians fitted to feature sets ``a`` and ``b``."""
    return frechet_distance(*gaussian_statistics(a), *gaussian_statistics(b))
