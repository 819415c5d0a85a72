"""The VAE's convolutional networks and its figures (reconstructions, interpolations, maps)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.data.datasets import get_spec
from gensys.nets.conv import ConvDecoder, ConvGaussianEncoder, check_conv_shape
from gensys.recipes.vae import INTERPOLATION_STEPS, LATENT_MAP_SIZE, VAEConfig, make_vae_recipe


@pytest.mark.parametrize("shape", [(8, 8, 1), (28, 28, 1), (32, 32, 3)])
def test_conv_encoder_decoder_shapes(shape):
    key = jax.random.key(0)
    x = jnp.zeros((3, *shape))
    condition = jax.nn.one_hot(jnp.arange(3), 10)
    encoder = ConvGaussianEncoder((4, 8), (16,), latent_dim=5)
    decoder = ConvDecoder((4, 8), (16,), shape, out_per_pixel=2)
    z = jnp.zeros((3, 7, 5))  # batch and importance-sample axes are kept
    cond = jnp.broadcast_to(condition[:, None], (3, 7, 10))
    # Shapes only: traced, never compiled (eager Flax init compiles op by op).
    mean, log_var = jax.eval_shape(
        lambda: encoder.apply(encoder.init(key, x, condition), x, condition)
    )
    assert mean.shape == log_var.shape == (3, 5)
    out = jax.eval_shape(lambda: decoder.apply(decoder.init(key, z, cond), z, cond))
    assert out.shape == (3, 7, *shape[:2], 2 * shape[2])


def test_conv_shape_errors_name_the_problem():
    assert check_conv_shape((28, 28, 1), (32, 64)) == (7, 7)
    with pytest.raises(ValueError, match="cannot be halved 3 times"):
        check_conv_shape((28, 28, 1), (8, 16, 32))
    with pytest.raises(ValueError, match="at least one stage"):
        check_conv_shape((8, 8, 1), ())
    with pytest.raises(ValueError, match="cannot be halved"):
        make_vae_recipe(VAEConfig(network="conv", channels=(4, 8, 16, 32)), get_spec("digits"))
    with pytest.raises(ValueError, match="network must be one of"):
        make_vae_recipe(VAEConfig(network="resnet"), get_spec("digits"))


def _batch(n=16, seed=0):
    levels = np.random.default_rng(seed).integers(0, 17, size=(n, 8, 8, 1))
    return {
        "image": jnp.asarray(levels, jnp.int32),
        "label": jnp.arange(n, dtype=jnp.int32) % 10,
        "mask": jnp.ones((n,), jnp.float32),
    }


@pytest.mark.parametrize(
    "config, extra",
    [
        (VAEConfig(latent_dim=2, hidden=(16,)), "latent_map"),
        (VAEConfig(latent_dim=3, hidden=(16,), network="conv", channels=(4, 8)), None),
        (VAEConfig(latent_dim=2, hidden=(16,), class_conditional=True), "class_samples"),
        (VAEConfig(latent_dim=2, hidden=(16,), autoencoder=True), None),
    ],
    ids=["vae2d", "conv", "cvae", "ae"],
)
def test_figures_show_the_data_and_decode_the_path(config, extra):
    spec = get_spec("digits")
    recipe = make_vae_recipe(config, spec)
    batch = _batch()
    state = jax.jit(recipe.init)(jax.random.key(1), batch)
    figures = jax.jit(recipe.figures)(state, batch, jax.random.key(2))
    if config.network == "conv":  # the convolutional VAE also trains
        new_state, metrics = jax.jit(recipe.train_step)(state, batch, jax.random.key(3))
        assert np.isfinite(float(metrics["train/loss"])) and int(new_state.step) == 1
    expected = {"reconstructions", "interpolations"} | ({extra} if extra else set())
    assert set(figures) == expected

    shown = np.asarray(batch["image"], np.float32) / 8.0 - 1.0  # 17 levels to [-1, 1]
    rec = np.asarray(figures["reconstructions"])
    assert rec.shape == (4, 8, 8, 8, 1)
    np.testing.assert_allclose(rec[0::2].reshape(16, 8, 8, 1), shown, atol=1e-6)
    assert np.all(np.abs(rec) <= 1.0)

    path = np.asarray(figures["interpolations"])
    assert path.shape == (8, INTERPOLATION_STEPS + 2, 8, 8, 1)
    np.testing.assert_allclose(path[:, 0], shown[:8], atol=1e-6)
    np.testing.assert_allclose(path[:, -1], shown[8:], atol=1e-6)
    # The straight line starts and ends at the reconstructions of its two examples.
    reconstructions = rec[1::2].reshape(16, 8, 8, 1)
    np.testing.assert_allclose(path[:, 1], reconstructions[:8], atol=1e-5)
    np.testing.assert_allclose(path[:, -2], reconstructions[8:], atol=1e-5)

    if extra == "latent_map":
        assert figures["latent_map"].shape == (LATENT_MAP_SIZE, LATENT_MAP_SIZE, 8, 8, 1)
    if extra == "class_samples":
        grid = np.asarray(figures["class_samples"])
        assert grid.shape == (10, 10, 8, 8, 1)
        assert np.abs(grid[0] - grid[1]).max() > 0  # the label changes the picture
