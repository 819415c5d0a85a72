"""The 2-D toy densities: fixed points per split, their geometry and entropy, mode coverage."""

import jax.numpy as jnp
import numpy as np
import pytest

from gensys.data import toy2d
from gensys.data.batches import to_model_input
from gensys.data.datasets import load_split
from gensys.eval.mode_coverage import MIN_MODE_FRACTION, mode_hits, modes_covered


def test_splits_are_fixed_sliceable_and_continuous():
    a = load_split("gaussians8", "train[:100]")
    b = load_split("gaussians8", "train")
    assert a.images.shape == (100, 1, 1, 2) and a.images.dtype == np.float32
    np.testing.assert_array_equal(a.images, b.images[:100])
    assert len(load_split("two_moons", "test")) == 10_000
    assert not np.array_equal(load_split("gaussians8", "test[:100]").images, a.images)
    np.testing.assert_array_equal(to_model_input(a.images, 0, "float"), a.images)
    with pytest.raises(ValueError, match="no integer levels"):
        to_model_input(a.images, 0, "levels")
    with pytest.raises(ValueError, match="has no split 'valid'"):
        load_split("checkerboard", "valid")


@pytest.mark.parametrize("name", ["gaussians8", "two_moons"])
def test_entropy_by_monte_carlo_and_density_integrates_to_one(name):
    entropy, se = toy2d.entropy_monte_carlo(name, 100_000, seed=0)
    assert abs(entropy - toy2d.ENTROPIES[name]) < 4 * se + 1e-3
    grid = np.linspace(-6, 6, 401)
    points = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 2)
    mass = np.exp(toy2d.LOG_DENSITIES[name](points)).sum() * (grid[1] - grid[0]) ** 2
    assert mass == pytest.approx(1.0, abs=1e-3)
    if name == "gaussians8":
        # Under the sum of ln 8 and one component's entropy: the components overlap a little.
        assert entropy < np.log(8) + 1 + np.log(2 * np.pi * toy2d.GAUSSIANS8_STD**2)


def test_checkerboard_is_uniform_on_area_32():
    x = toy2d.checkerboard(np.random.default_rng(0), 50_000)
    assert toy2d.on_checkerboard(x).all()
    u = np.random.default_rng(1).uniform(-4, 4, (200_000, 2))
    area = 64 * toy2d.on_checkerboard(u).mean()
    assert abs(area - 32) < 4 * 64 * np.sqrt(0.25 / len(u))
    # Each of the 16 cells holds points only if it is dark, and every dark cell is used.
    cells = {tuple(c) for c in np.floor(x / 2).astype(int)}
    assert len(cells) == 8


def test_mode_coverage_on_real_and_collapsed_samples():
    modes, std = jnp.asarray(toy2d.GAUSSIANS8_MODES), toy2d.GAUSSIANS8_STD
    real = jnp.asarray(load_split("gaussians8", "test").images.reshape(-1, 2))
    hits = mode_hits(real, modes, std)
    # Within 3 std in 2-D holds 1 - exp(-4.5) = 98.9 % of a Gaussian's mass.
    assert float(hits.sum(-1).mean()) == pytest.approx(1 - np.exp(-4.5), abs=0.005)
    assert modes_covered(np.asarray(hits.mean(0))) == 8
    collapsed = jnp.concatenate([jnp.tile(modes[:3], (100, 1)), jnp.full((20, 2), 10.0)])
    fractions = np.asarray(mode_hits(collapsed, modes, std).mean(0))
    assert modes_covered(fractions) == 3 and fractions[3:].sum() == 0
    assert modes_covered([MIN_MODE_FRACTION, MIN_MODE_FRACTION / 2]) == 1
