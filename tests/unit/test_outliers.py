"""AUROC against the pairwise definition, and the outlier sets' shapes and meaning."""

import numpy as np
import pytest

from gensys.eval.outliers import OUTLIER_KINDS, auroc, outlier_sets


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
    with pytest.raises(ValueError, match="finite"):
        auroc([np.nan], [1.0])


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
