"""The Frechet distance against its closed forms, and the digits feature classifier."""

import numpy as np
import pytest

from gensys.eval.frechet import frechet_distance, frechet_distance_of_features


def test_one_dimensional_closed_form():
    # W2^2 between N(m1, s1^2) and N(m2, s2^2) is (m1 - m2)^2 + (s1 - s2)^2.
    assert frechet_distance(1.0, 4.0, -0.5, 0.25) == pytest.approx(1.5**2 + 1.5**2, rel=1e-12)


def test_commuting_covariances_and_identity():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    a, b = rng.uniform(0.1, 2, 5), rng.uniform(0.1, 2, 5)
    c1, c2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    mu = rng.normal(size=5)
    want = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu, c1, mu, c2) == pytest.approx(want, rel=1e-9)
    assert frechet_distance(mu, c1, mu, c1) == pytest.approx(0.0, abs=1e-9)


def test_feature_sets_and_errors():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance_of_features(a, a + 2.0) == pytest.approx(12.0, rel=1e-9)
    with pytest.raises(ValueError, match="mismatched statistics"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="features must be"):
        frechet_distance_of_features(np.zeros(3), np.zeros(3))


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_digits_classifier_learns_digits(data_cache):
    from gensys.data.datasets import load_split
    from gensys.eval.digits_classifier import as_float_images, train_digits_classifier

    train = load_split("digits", "train", cache_dir=data_cache)
    test = load_split("digits", "test", cache_dir=data_cache)
    classifier = train_digits_classifier(train, test, steps=300)
    assert classifier.test_accuracy > 0.9
    real = classifier.features(as_float_images(test))
    noise = classifier.features(np.random.default_rng(0).uniform(-1, 1, (297, 8, 8, 1)))
    ref = classifier.features(as_float_images(train))
    assert frechet_distance_of_features(real, ref) < frechet_distance_of_features(noise, ref)
