"""Sample-quality metrics against their closed forms and defining properties: streamed
Gaussian moments, the pytorch-fid trace term, unbiased KID, k-NN precision / recall and
the Inception Score."""

import jax
import numpy as np
import pytest

from gensys.eval.frechet import GaussianMoments, frechet_distance, streamed_gaussian_statistics
from gensys.eval.inception_score import inception_score
from gensys.eval.kid import kernel_inception_distance, mmd2_unbiased, polynomial_kernel
from gensys.eval.precision_recall import precision_recall
from gensys.eval.streaming import map_in_batches


def test_streamed_moments_match_numpy_despite_a_large_offset():
    rng = np.random.default_rng(0)
    features = (rng.normal(size=(1000, 6)) * [1, 2, 3, 4, 5, 6] + 1000.0).astype(np.float32)
    mu, cov = streamed_gaussian_statistics(lambda x: x * 1.0, features, batch_size=96)
    want = features.astype(np.float64)
    np.testing.assert_allclose(mu, want.mean(0), rtol=1e-6)
    np.testing.assert_allclose(cov, np.cov(want, rowvar=False), atol=2e-3 * np.abs(cov).max())
    moments = GaussianMoments()
    moments.update(features[:1])
    with pytest.raises(ValueError, match="at least 2"):
        moments.statistics()


def test_map_in_batches_pads_and_trims():
    x = np.arange(10, dtype=np.float32).reshape(10, 1)
    np.testing.assert_array_equal(map_in_batches(lambda b: 2 * b, x, batch_size=4), 2 * x)
    with pytest.raises(ValueError, match="non-empty"):
        map_in_batches(lambda b: b, np.zeros((0, 3)))


def test_frechet_sqrtm_method_agrees_with_eigh():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    c1, c2 = a @ a.T + 0.1 * np.eye(8), b @ b.T + 0.1 * np.eye(8)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    eigh = frechet_distance(mu1, c1, mu2, c2)
    assert frechet_distance(mu1, c1, mu2, c2, method="sqrtm") == pytest.approx(eigh, rel=1e-8)
    with pytest.raises(ValueError, match="method must be"):
        frechet_distance(mu1, c1, mu2, c2, method="svd")


def test_kid_is_unbiased_and_the_biased_estimate_is_not():
    # 300 independent pairs of 50 draws from one 4-d Gaussian: the unbiased MMD^2 averages
    # to 0 within 3 standard errors; the V-statistic (diagonal kept) sits far above 0.
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(2, 300, 50, 4)).astype(np.float32) + 1.0
    unbiased = np.asarray(jax.vmap(mmd2_unbiased)(x, y))
    error = unbiased.std() / np.sqrt(len(unbiased))
    assert abs(unbiased.mean()) < 3 * error

    def biased(a, b):
        return (polynomial_kernel(a, a).mean() + polynomial_kernel(b, b).mean()
                - 2 * polynomial_kernel(a, b).mean())  # fmt: skip

    assert np.asarray(jax.vmap(biased)(x, y)).mean() > 10 * error


def test_kid_matches_float64_reference_and_detects_a_shift():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(200, 16)) + 3.0
    fake = 1.1 * rng.normal(size=real.shape) + 3.0
    m, d = len(real), real.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    off = lambda km: (km.sum() - np.trace(km)) / (m * (m - 1))  # noqa: E731
    want = off(k(real, real)) + off(k(fake, fake)) - 2 * k(real, fake).mean()
    got = kernel_inception_distance(
        real, fake, key=jax.random.key(0), num_subsets=3, subset_size=500
    )
    assert got.subset_size == 200 and got.std < 1e-3 * abs(want)  # every subset is all
    assert got.mean == pytest.approx(want, rel=1e-3)
    same = kernel_inception_distance(real, real[::-1], key=jax.random.key(0), subset_size=100)
    far = kernel_inception_distance(real, real + 1.0, key=jax.random.key(0), subset_size=100)
    assert abs(same.mean) < 3 * same.std and far.mean > 10 * far.std
    with pytest.raises(ValueError, match="one D"):
        kernel_inception_distance(real, fake[:, :3], key=jax.random.key(0))


def test_precision_recall_identical_shifted_and_collapsed_sets():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(600, 5)).astype(np.float32)
    same = precision_recall(real, real, block=128)
    assert (same.precision, same.recall) == (1.0, 1.0)
    shifted = precision_recall(real, real + 2.0, block=128)
    assert shifted.precision < 0.5 and shifted.recall < 0.5
    collapsed = precision_recall(real, 0.1 * rng.normal(size=(600, 5)), block=128)
    assert collapsed.precision > 0.95 and collapsed.recall < 0.3  # faithful but no coverage
    with pytest.raises(ValueError, match="more than k"):
        precision_recall(real[:3], real[:3])


def test_inception_score_bounds():
    uniform = np.zeros((100, 10))
    assert inception_score(uniform).mean == pytest.approx(1.0, abs=1e-5)
    confident = 50.0 * np.eye(10)[np.arange(100) % 10]
    score = inception_score(confident, num_splits=10)
    assert score.mean == pytest.approx(10.0, rel=1e-4) and score.std < 1e-3
    one_class = 50.0 * np.eye(10)[np.zeros(100, int)]
    assert inception_score(one_class).mean == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(ValueError, match="num_splits"):
        inception_score(uniform[:5], num_splits=10)
