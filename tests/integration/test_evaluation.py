"""gensys's feature networks made, stored and reloaded, and every sample-quality score of
real digits against real digits (the floor) and against noise."""

import jax
import numpy as np
import pytest

from gensys.data.datasets import load_split
from gensys.eval.digits_classifier import as_float_images
from gensys.eval.feature_nets import create_feature_net, load_feature_net
from gensys.eval.sample_quality import ReferenceSet


@pytest.fixture(scope="module")
def digits_net(tmp_path_factory, data_cache):
    directory = tmp_path_factory.mktemp("feature_nets")
    with pytest.raises(
        FileNotFoundError, match="python -m gensys.eval.feature_nets --dataset=digits"
    ):
        load_feature_net("digits", directory=directory)
    created = create_feature_net("digits", directory=directory, cache_dir=data_cache)
    return created, load_feature_net("digits", directory=directory)


def test_feature_net_is_stored_with_its_accuracy_and_reloads_identically(digits_net, data_cache):
    created, loaded = digits_net
    assert loaded.test_accuracy == created.test_accuracy > 0.9
    assert loaded.info["num_train"] == 1500 and loaded.image_shape == (8, 8, 1)
    test = as_float_images(load_split("digits", "test", cache_dir=data_cache))
    np.testing.assert_array_equal(loaded.features(test), created.features(test))
    # Samples at another size are averaged down to 8x8 and rounded to the 17 levels.
    upsampled = np.asarray(jax.image.resize(test, (len(test), 32, 32, 1), "nearest"))
    np.testing.assert_allclose(loaded.features(upsampled), loaded.features(test), atol=1e-4)
    with pytest.raises(ValueError, match="unknown feature network"):
        load_feature_net("cifar10")


def test_scores_of_real_digits_and_of_noise(digits_net, data_cache):
    net = digits_net[1]
    train = as_float_images(load_split("digits", "train", cache_dir=data_cache))
    test = as_float_images(load_split("digits", "test", cache_dir=data_cache))
    reference = ReferenceSet(net, train)
    key = jax.random.key(0)
    floor = reference.score(test, key=key, kid_subsets=20)
    noise = reference.score(
        np.random.default_rng(0).uniform(-1, 1, test.shape), key=key, kid_subsets=20
    )
    assert floor.num == 297 and floor.precision > 0.8 and floor.recall > 0.8
    assert floor.inception_score > 8.0  # confident, balanced predictions on real digits
    assert noise.frechet > 10 * floor.frechet and noise.kid > 10 * abs(floor.kid) + floor.kid_std
    assert noise.precision < 0.2 and noise.recall < 0.2
