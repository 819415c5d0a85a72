"""pix2pix's paired tasks and networks: what each transform does, shapes, patch logits."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.data.paired import downsample_upsample, make_input, mask_square, sobel_edges
from gensys.nets.pix2pix import PatchDiscriminator, UNetTranslator, translator_depth


def _bar(size=8):
    """A vertical ink bar (columns 2-4) on background."""
    y = -np.ones((1, size, size, 1), np.float32)
    y[:, :, 2:5] = 1.0
    return jnp.asarray(y)


def test_edges_mark_the_boundary_and_nothing_on_flat_images():
    edges = np.asarray(sobel_edges(_bar()))[0, :, :, 0]
    assert edges.max() == pytest.approx(1.0) and edges.min() == pytest.approx(-1.0)
    # Ink where the intensity changes (columns 1-2 and 4-5), background far from it.
    assert (edges[:, [1, 2, 4, 5]] > 0).all() and (edges[:, [3, 7]] == -1.0).all()
    np.testing.assert_array_equal(sobel_edges(jnp.ones((2, 8, 8, 1))), -1.0)


def test_inpaint_blanks_one_half_side_square_per_example():
    y = jnp.ones((16, 8, 8, 1))
    x = np.asarray(mask_square(jax.random.key(0), y))
    blanked = (x == -1.0)[..., 0]
    assert (blanked.sum(axis=(1, 2)) == 16).all()  # a 4x4 square in every example
    for example in blanked:
        rows, cols = np.nonzero(example)
        assert rows.max() - rows.min() == 3 and cols.max() - cols.min() == 3
    positions = {tuple(np.argwhere(b)[0]) for b in blanked}
    assert len(positions) > 1  # drawn per example


def test_super_resolution_input_keeps_block_means():
    y = jax.random.uniform(jax.random.key(1), (2, 8, 8, 1), minval=-1, maxval=1)
    x = downsample_upsample(y)
    np.testing.assert_allclose(x[:, ::2, ::2], x[:, 1::2, 1::2])
    np.testing.assert_allclose(
        x.reshape(2, 4, 2, 4, 2, 1).mean((2, 4)), y.reshape(2, 4, 2, 4, 2, 1).mean((2, 4)),
        atol=1e-6,
    )  # fmt: skip
    np.testing.assert_allclose(downsample_upsample(x), x, atol=1e-6)  # already blocky
    with pytest.raises(ValueError, match="divisible"):
        downsample_upsample(jnp.zeros((1, 7, 7, 1)))
    with pytest.raises(ValueError, match="task"):
        make_input("colorize", jax.random.key(0), y)


def test_translator_and_patch_discriminator_shapes_and_dropout_noise():
    x = jax.random.normal(jax.random.key(2), (3, 16, 16, 1))
    translator = UNetTranslator(channels=1, width=4, max_width=8, dropout_layers=2)
    variables = jax.jit(lambda k: translator.init({"params": k, "dropout": k}, x, train=False))(
        jax.random.key(3)
    )
    apply = jax.jit(lambda v, k: translator.apply(v, x, train=False, rngs={"dropout": k}))
    a, b = apply(variables, jax.random.key(4)), apply(variables, jax.random.key(5))
    assert a.shape == x.shape and float(jnp.max(jnp.abs(a))) < 1.0
    assert float(jnp.max(jnp.abs(a - b))) > 0  # dropout is the noise, also when sampling
    discriminator = PatchDiscriminator(widths=(4, 8))
    d_vars = jax.jit(lambda k: discriminator.init(k, x, a, train=False))(jax.random.key(6))
    assert discriminator.apply(d_vars, x, a, train=False).shape == (3, 4, 4)
    assert translator_depth(16) == 4 and translator_depth(16, min_size=2) == 3
    with pytest.raises(ValueError, match="min_size"):
        translator_depth(12)
