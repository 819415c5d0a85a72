"""AUROC against the pairwise definition, and the outlier sets' shapes and meaning."""

import numpy as np
import pytest

from gensys.eval.outliers import OUTLIER_KINDS, auroc, outlier_sets, perturbed
from gensys.train.likelihood_scores import likelihood_ratio_scores, outlier_aurocs


def test_auroc_matches_counting_pairs_with_ties_as_half():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 6, 40).astype(float)  # many ties
    b = rng.integers(0, 6, 30).astype(float) - 1.0
    pairs = (a[:, None] > b[None, :]).mean() + 0.5 * (a[:, None] == b[None, :]).mean()
    assert auroc(a, b) == pytest.approx(pairs, abs=1e-12)
    assert auroc([2.0, 3.0], [0.0, 1.0]) == 1.0
    assert auroc([0.0, 1.0], [2.0, 3.0]) == 0.0
    with pytest.raises(ValueError, match="need scores on both sides"):
        auroc([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        auroc([np.nan], [1.0])
    assert auroc([0.0, 1.0], [-np.inf, 0.5]) == 0.75  # -inf: ruled out, ranked last


def test_outlier_sets_keep_shape_and_levels():
    images = np.random.default_rng(1).integers(0, 17, (5, 8, 8, 1)).astype(np.int32)
    sets = outlier_sets(images, 17)
    assert tuple(sets) == OUTLIER_KINDS
    for value in sets.values():
        assert value.shape == images.shape and value.dtype == images.dtype
        assert value.min() >= 0 and value.max() <= 16
    np.testing.assert_array_equal(sets["inverted"], 16 - images)
    np.testing.assert_array_equal(sets["shifted"][:, 2:, 2:], images[:, :-2, :-2])
    assert np.all(sets["shifted"][:, :2] == 0)
    with pytest.raises(ValueError, match="integer levels"):
        outlier_sets(images.astype(np.float32), 17)


def test_perturbed_replaces_the_given_fraction_of_pixels_with_uniform_levels():
    images = np.zeros((200, 8, 8, 1), np.int64)
    np.testing.assert_array_equal(perturbed(images, 17, 0.0), images)
    half = perturbed(images, 17, 0.5, seed=1)
    assert half.dtype == images.dtype and half.shape == images.shape
    # A replaced pixel is 0 with probability 1/17: nonzero fraction 0.5 * 16/17.
    assert np.mean(half != 0) == pytest.approx(0.5 * 16 / 17, abs=0.01)
    every = perturbed(images, 17, 1.0, seed=2)
    counts = np.bincount(every.reshape(-1), minlength=17)
    assert counts.min() > 0.8 * every.size / 17 and every.max() == 16
    with pytest.raises(ValueError, match="rate must be in"):
        perturbed(images, 17, 1.5)
    with pytest.raises(ValueError, match="integer levels"):
        perturbed(images.astype(np.float32), 17, 0.1)


def test_the_likelihood_ratio_cancels_what_the_background_model_shares():
    # NLL = complexity (shared by both models) + semantics (the data model's alone): the
    # outliers are simpler, so the raw likelihood prefers them; the ratio does not.
    rng = np.random.default_rng(0)
    inlier_complexity, outlier_complexity = rng.normal(100, 5, 300), rng.normal(60, 5, 300)
    inlier_nll = inlier_complexity + rng.normal(0, 1, 300)
    outlier_nll = outlier_complexity + 20 + rng.normal(0, 1, 300)
    aurocs = outlier_aurocs(
        inlier_nll,
        {"simple": outlier_nll},
        inlier_nll,
        inlier_background_nll=inlier_complexity,
        outlier_background_nll={"simple": outlier_complexity},
    )
    assert aurocs["simple"]["likelihood"] < 0.05
    assert aurocs["simple"]["likelihood_ratio"] > 0.99
    np.testing.assert_allclose(likelihood_ratio_scores([3.0], [5.0]), [2.0])
    with pytest.raises(ValueError, match="both the inliers and the outliers"):
        outlier_aurocs(inlier_nll, {"simple": outlier_nll}, inlier_nll,
                       inlier_background_nll=inlier_complexity)  # fmt: skip


def test_inputs_whose_likelihood_overflows_are_ruled_out_by_every_score():
    # A float32 flow can give NLL inf, or NaN (inf - inf), far outside its data.
    inliers, training = np.array([90.0, 95.0]), np.array([92.0, 93.0])
    outliers = {"far": np.array([np.inf, np.nan])}
    aurocs = outlier_aurocs(inliers, outliers, training, inlier_background_nll=inliers + 1.0,
                            outlier_background_nll={"far": np.array([np.nan, 80.0])})  # fmt: skip
    assert aurocs["far"] == {"likelihood": 1.0, "typicality": 1.0, "likelihood_ratio": 1.0}
