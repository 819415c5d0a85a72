"""Every autoregressive network is autoregressive, normalised, and samples what it models.

- Jacobian check: the logits of pixel i do not move with pixel j for any j at or after
  i in the model's ordering. The same Jacobian shows the plain PixelCNN's blind spot
  (pixels above and to the right that no path reaches) and that the gated PixelCNN,
  NADE, FVSBN and the Transformer see every earlier pixel.
- On 8 binary pixels the 256 images' probabilities sum to 1.
- Samples drawn by ancestral sampling pass a chi-square test against the model's own
  probabilities; cached and uncached sampling give the same images for the same key.
"""

import itertools
import math
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from gensys.nets.autoregressive import ARCHITECTURES, MIXTURE_NETWORKS, SPATIAL, build_model

KEY = jax.random.key(7)
SMALL = dict(hidden=8, num_layers=4, first_kernel_size=3, num_heads=2)


def model_and_params(architecture, shape, levels, **overrides):
    options = {**SMALL, **overrides}
    if architecture == "made":
        options.update(num_masks=3, order_agnostic=True, num_layers=2, direct_connection=True)
    model = build_model(architecture, shape, levels, **options)
    x = jnp.zeros((2, *shape), jnp.int32)
    labels = jnp.zeros((2,), jnp.int32) if options.get("num_classes") else None
    params = model.init(KEY, x, labels)

    def move(path, leaf):  # off the (partly zero) initialisation
        key = jax.random.fold_in(KEY, zlib.crc32(jax.tree_util.keystr(path).encode()))
        return leaf + 0.3 * jax.random.normal(key, leaf.shape)

    return model, jax.tree_util.tree_map_with_path(move, params)


def dependencies(model, params, mask_index=0, num_inputs=1):
    """``[D, D]`` booleans: does output pixel i's logits depend on input pixel j (at any of
    ``num_inputs`` random images: at one, the ReLUs that are off can hide a path)?"""
    shape, levels = model.image_shape, model.num_levels
    x = jax.random.randint(KEY, (num_inputs, *shape), 0, levels)
    onehots = jax.nn.one_hot(x, levels).reshape(num_inputs, -1)

    def logits(flat):
        inputs = flat.reshape(1, *shape, levels)
        if model.architecture == "made":
            out = model.network.apply(params, inputs, None, mask_index)
        else:
            out = model.network.apply(params, inputs)
        return model._level_logits(out).reshape(-1)  # a mixture's too: the levels' log-probs

    jacobians = np.asarray(jax.jit(jax.vmap(jax.jacfwd(logits)))(onehots))
    dims = model.dims
    per_pixel = np.abs(jacobians.reshape(num_inputs, dims, levels, dims, levels))
    return per_pixel.sum(axis=(0, 2, 4)) > 0


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_logits_depend_only_on_earlier_pixels(architecture):
    model, params = model_and_params(architecture, (4, 4, 1), 3)
    masks = range(3) if architecture == "made" else [0]
    for mask_index in masks:
        depends = dependencies(model, params, mask_index)
        if architecture == "made":
            order = np.asarray(model.network.masks()[0][mask_index])
        else:
            order = np.arange(model.dims)
        position = np.empty(model.dims, int)
        position[order] = np.arange(model.dims)
        later_or_same = position[None, :] >= position[:, None]  # [i, j]: j not before i
        assert not np.any(depends & later_or_same), f"{architecture} mask set {mask_index}"
        if architecture in ("fvsbn", "nade", "gated_pixelcnn", "pixel_transformer", "made"):
            # No blind spot: every earlier pixel reaches every later one (MADE through its
            # direct connection, in each mask set's own ordering).
            np.testing.assert_array_equal(depends, ~later_or_same)


@pytest.mark.parametrize("architecture", SPATIAL)
def test_colour_logits_depend_only_on_earlier_pixels_and_channels(architecture):
    """RGB: channel c of pixel i depends only on the pixels before i and on the channels
    before c of pixel i itself (the raster order over (row, column, channel))."""
    model, params = model_and_params(architecture, (3, 3, 3), 3, hidden=12, num_layers=3)
    depends = dependencies(model, params, num_inputs=8)
    later_or_same = np.triu(np.ones((model.dims, model.dims), bool))  # [i, j]: j >= i
    assert not np.any(depends & later_or_same), architecture
    # Within a pixel: G sees R, B sees R and G (PixelCNN's blind spot is off the pixel).
    for pixel in range(9):
        r, g, b = 3 * pixel, 3 * pixel + 1, 3 * pixel + 2
        assert depends[g, r] and depends[b, r] and depends[b, g], (architecture, pixel)
    if architecture == "gated_pixelcnn":
        np.testing.assert_array_equal(depends, ~later_or_same)


def test_pixelcnn_blind_spot_is_above_and_to_the_right():
    model, params = model_and_params("pixelcnn", (4, 4, 1), 3)
    depends = dependencies(model, params)
    missing = [
        (divmod(i, 4), divmod(j, 4)) for i in range(16) for j in range(i) if not depends[i, j]
    ]
    assert missing, "a stack of masked 3x3 convolutions should leave a blind spot"
    for (row, col), (row_j, col_j) in missing:
        assert row_j < row and col_j > col, (row, col, row_j, col_j)
    # The textbook case: pixel (1, 0) never sees (0, 2) or (0, 3).
    assert ((1, 0), (0, 2)) in missing and ((1, 0), (0, 3)) in missing


@pytest.mark.parametrize(
    "architecture",
    [*ARCHITECTURES, "gated_pixelcnn_conditional", "gated_pixelcnn_rgb"],
)
def test_probabilities_of_all_binary_images_sum_to_one(architecture):
    """2x4 grey images, or 2x2 RGB ones: 256 or 4,096 images (the colour masks of all three
    convolutional networks are checked by the Jacobian above)."""
    conditional = architecture.endswith("_conditional")
    colour = architecture.endswith("_rgb")
    name = architecture.removesuffix("_conditional").removesuffix("_rgb")
    options = {"num_classes": 3} if conditional else {}
    if colour:
        options.update(hidden=6, num_layers=2)
    shape = (2, 2, 3) if colour else (2, 4, 1)
    model, params = model_and_params(name, shape, 2, **options)
    count = 2 ** math.prod(shape)
    images = jnp.asarray(list(itertools.product([0, 1], repeat=math.prod(shape))))
    images = images.reshape(count, *shape)
    labels = jnp.full((count,), 2) if conditional else None
    log_p = jax.jit(model.ensemble_log_prob)(params, images, labels)
    assert float(jnp.sum(jnp.exp(log_p))) == pytest.approx(1.0, abs=1e-5)
    if name == "made":  # each mask set alone is normalised too
        log_p1 = model.log_prob(params, images, None, 1)
        assert float(jnp.sum(jnp.exp(log_p1))) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
@pytest.mark.parametrize("architecture", ["nade", "gated_pixelcnn", "made", "gated_pixelcnn_rgb"])
def test_sample_frequencies_pass_a_chi_square_test(architecture):
    """2x2 images of 3 levels (81 outcomes), or 1x2 RGB images of 2 levels drawn channel by
    channel (64 outcomes), 20,000 draws against the exact probabilities."""
    if architecture.endswith("_rgb"):
        shape, levels, options = (1, 2, 3), 2, dict(hidden=6, num_layers=2)
    else:
        shape, levels, options = (2, 2, 1), 3, {}
    model, params = model_and_params(architecture.removesuffix("_rgb"), shape, levels, **options)
    dims = math.prod(shape)
    outcomes = levels**dims
    images = jnp.asarray(list(itertools.product(range(levels), repeat=dims)))
    images = images.reshape(outcomes, *shape)
    probs = np.exp(np.asarray(model.log_prob(params, images), np.float64))
    num = 20_000
    draws = jax.jit(lambda p, k: model.sample(p, k, num))(params, jax.random.key(11))
    codes = np.asarray(draws).reshape(num, dims) @ (levels ** np.arange(dims)[::-1])
    observed = np.bincount(codes, minlength=outcomes)
    expected = num * probs / probs.sum()
    # Pool the rare outcomes so every expected count is at least 5.
    rare = expected < 5
    if rare.any():
        observed = np.append(observed[~rare], observed[rare].sum())
        expected = np.append(expected[~rare], expected[rare].sum())
    _, p_value = stats.chisquare(observed, expected)
    assert p_value > 1e-3, p_value


@pytest.mark.parametrize("architecture", ["fvsbn", "nade", "pixel_transformer"])
def test_cached_and_uncached_sampling_draw_the_same_images(architecture):
    model, params = model_and_params(architecture, (4, 4, 1), 5)
    key = jax.random.key(3)
    cached = jax.jit(lambda p: model.sample(p, key, 16, cached=True))(params)
    rerun = jax.jit(lambda p: model.sample(p, key, 16, cached=False))(params)
    assert len(np.unique(np.asarray(cached))) > 1
    np.testing.assert_array_equal(cached, rerun)
    prefix = jax.random.randint(key, (16, 4, 4, 1), 0, 5)
    completed = model.sample(params, key, 16, cached=True, prefix=prefix, num_given=6)
    np.testing.assert_array_equal(completed.reshape(16, -1)[:, :6], prefix.reshape(16, -1)[:, :6])
    rerun = model.sample(params, key, 16, cached=False, prefix=prefix, num_given=6)
    np.testing.assert_array_equal(completed, rerun)


@pytest.mark.parametrize("architecture", MIXTURE_NETWORKS)
@pytest.mark.parametrize("conditional", ["logistic_mixture", "gaussian_mixture"])
def test_mixture_conditionals_are_autoregressive_and_normalised(architecture, conditional):
    """A discretized mixture per pixel (3 components, 3 levels, 2x2 images: 81 outcomes):
    the levels' log-probabilities keep the order, and all images' probabilities sum to 1."""
    shape, levels = (2, 2, 1), 3
    model, params = model_and_params(architecture, shape, levels, conditional=conditional,
                                     num_components=3)  # fmt: skip
    depends = dependencies(model, params, num_inputs=4)
    if architecture == "made":
        order = np.asarray(model.network.masks()[0][0])
    else:
        order = np.arange(model.dims)
    position = np.empty(model.dims, int)
    position[order] = np.arange(model.dims)
    later_or_same = position[None, :] >= position[:, None]
    assert not np.any(depends & later_or_same)
    assert np.any(depends)
    images = jnp.asarray(list(itertools.product(range(levels), repeat=4))).reshape(81, *shape)
    log_p = jax.jit(model.ensemble_log_prob)(params, images)
    assert float(jnp.sum(jnp.exp(log_p))) == pytest.approx(1.0, abs=1e-5)
    # The likelihood evaluates the mixture at each observed level only; the samplers use
    # every level's log-probability: one distribution.
    from gensys.distributions import categorical_log_prob

    by_levels = categorical_log_prob(images, model.logits(params, images)).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(model.log_prob(params, images), by_levels, rtol=1e-5, atol=1e-5)


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_a_mixture_nade_samples_its_own_probabilities_cached_or_not():
    shape, levels = (2, 2, 1), 3
    model, params = model_and_params("nade", shape, levels, conditional="logistic_mixture",
                                     num_components=2)  # fmt: skip
    images = jnp.asarray(list(itertools.product(range(levels), repeat=4))).reshape(81, *shape)
    probs = np.exp(np.asarray(model.log_prob(params, images), np.float64))
    key, num = jax.random.key(5), 20_000
    cached = jax.jit(lambda p: model.sample(p, key, num, cached=True))(params)
    rerun = jax.jit(lambda p: model.sample(p, key, 64, cached=False))(params)
    np.testing.assert_array_equal(cached[:64], rerun)
    codes = np.asarray(cached).reshape(num, 4) @ (levels ** np.arange(4)[::-1])
    observed, expected = np.bincount(codes, minlength=81), num * probs / probs.sum()
    rare = expected < 5
    if rare.any():
        observed = np.append(observed[~rare], observed[rare].sum())
        expected = np.append(expected[~rare], expected[rare].sum())
    assert stats.chisquare(observed, expected)[1] > 1e-3


def test_build_model_errors_name_the_argument():
    with pytest.raises(ValueError, match="architecture must be one of"):
        build_model("wavenet", (4, 4, 1), 2)
    with pytest.raises(ValueError, match="hidden must be a multiple of 3 and at least 6, got 64"):
        build_model("pixelcnn", (4, 4, 3), 256, hidden=64)
    with pytest.raises(ValueError, match="class conditioning is built for gated_pixelcnn"):
        build_model("nade", (4, 4, 1), 2, num_classes=10)
    with pytest.raises(ValueError, match="num_masks is MADE's"):
        build_model("nade", (4, 4, 1), 2, num_masks=4)
    with pytest.raises(ValueError, match="conditional must be one of"):
        build_model("nade", (4, 4, 1), 2, conditional="poisson")
    with pytest.raises(ValueError, match="a mixture conditional is built for"):
        build_model("fvsbn", (4, 4, 1), 2, conditional="logistic_mixture")


@pytest.mark.parametrize("architecture", ["made", "nade"])
def test_a_real_valued_model_is_a_normalised_autoregressive_density(architecture):
    """RNADE / MADE MoG on 2-D points: the density integrates to one on a grid, and the
    second coordinate's mixture reads the first, never the reverse."""
    model = build_model(architecture, (1, 1, 2), 0, hidden=16, num_layers=2,
                        conditional="gaussian_mixture", num_components=3)  # fmt: skip
    x = jax.random.normal(KEY, (4, 1, 1, 2))
    params = model.init(KEY, x)
    params = jax.tree_util.tree_map_with_path(
        lambda path, leaf: (
            leaf
            + 0.3
            * jax.random.normal(
                jax.random.fold_in(KEY, zlib.crc32(jax.tree_util.keystr(path).encode())), leaf.shape
            )
        ),
        params,
    )
    # Cell centres (none on a bin edge below) of a 1,000 x 1,000 grid over [-20, 20]^2.
    grid = (np.arange(1000, dtype=np.float32) + 0.5) * 0.04 - 20.0
    points = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 1, 1, 2)
    log_p = jax.jit(model.log_prob)
    density = np.concatenate([np.exp(np.asarray(log_p(params, c))) for c in np.split(points, 8)])
    assert density.sum() * (grid[1] - grid[0]) ** 2 == pytest.approx(1.0, abs=2e-3)
    order = np.asarray(model.order) if model.order is not None else np.arange(2)
    first, second = order

    def outputs(v):
        return model._outputs(params, v.reshape(1, 1, 1, 2)).reshape(2, -1)

    jacobian = np.asarray(jax.jacfwd(outputs)(x[0].reshape(-1)))  # [2, 3K, 2]
    assert np.abs(jacobian[first]).sum() == 0 and np.abs(jacobian[second, :, second]).sum() == 0
    assert np.abs(jacobian[second, :, first]).sum() > 0
    # Samples follow the density: 20,000 draws in 6x6 bins against the grid's mass.
    draws = np.asarray(jax.jit(lambda p: model.sample(p, jax.random.key(4), 20_000))(params))
    edges = np.array([-1e3, -2.0, -1.0, 0.0, 1.0, 2.0, 1e3])
    observed = np.histogram2d(draws[:, 0, 0, 0], draws[:, 0, 0, 1], [edges, edges])[0]
    cell = density.reshape(1000, 1000) * (grid[1] - grid[0]) ** 2  # [y, x]
    gx, gy = np.digitize(grid, edges[1:-1]), np.digitize(grid, edges[1:-1])
    expected = np.zeros((6, 6))
    np.add.at(expected, (gx[None, :].repeat(1000, 0), gy[:, None].repeat(1000, 1)), cell)
    expected = 20_000 * expected / expected.sum()
    keep = expected >= 5
    _, p_value = stats.chisquare(observed[keep], expected[keep] * observed[keep].sum()
                                 / expected[keep].sum())  # fmt: skip
    assert p_value > 1e-3, p_value
    with pytest.raises(ValueError, match="completion"):
        model.sample(params, KEY, 2, prefix=jnp.zeros((2, 1, 1, 2), jnp.int32), num_given=1)


def test_real_valued_data_needs_a_gaussian_mixture_on_made_or_nade():
    with pytest.raises(ValueError, match="continuous data"):
        build_model("made", (1, 1, 2), 0)
    with pytest.raises(ValueError, match="continuous data"):
        build_model("pixelcnn", (1, 1, 2), 0, conditional="gaussian_mixture")
