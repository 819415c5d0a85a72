"""DCGAN and MLP GAN networks: shapes, the N(0, 0.02) init, and the label paths.

Everything runs under ``jax.jit``: eagerly, each of the many small ops of a Flax
init compiles on its own, which costs tens of seconds on CPU.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.data.datasets import get_spec
from gensys.nets.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_stages
from gensys.nets.mlp import MLPDiscriminator, MLPGenerator
from gensys.recipes.gan import GANConfig, make_gan_recipe


@pytest.mark.parametrize("size, channels", [(16, 1), (32, 3)])
def test_dcgan_shapes_and_init(size, channels):
    z = jax.random.normal(jax.random.key(0), (2, 8))
    g = DCGANGenerator(size, channels, width=8)
    d = DCGANDiscriminator(width=8)

    @jax.jit
    def run(key):
        g_vars = g.init(key, z, train=False)
        images = g.apply(g_vars, z, train=False)
        d_vars = d.init(jax.random.fold_in(key, 1), images, train=False)
        return g_vars, images, d_vars, d.apply(d_vars, images, train=False)

    g_vars, images, d_vars, logits = run(jax.random.key(1))
    assert images.shape == (2, size, size, channels) and logits.shape == (2,)
    assert float(jnp.max(jnp.abs(images))) < 1.0  # tanh
    kernel = d_vars["params"]["Conv_0"]["kernel"]
    assert abs(float(jnp.std(kernel)) - 0.02) < 0.005
    assert "batch_stats" in g_vars and "batch_stats" in d_vars


def test_critic_without_batch_norm_and_size_errors():
    x = jnp.zeros((2, 32, 32, 1))
    for norm in ("layer", "instance", "none"):
        d_vars = jax.eval_shape(DCGANDiscriminator(width=4, norm=norm).init, jax.random.key(0), x)
        assert "batch_stats" not in d_vars
    assert dcgan_stages(32) == 3
    with pytest.raises(ValueError, match="side 4 \\* 2\\^L"):
        dcgan_stages(28)
    with pytest.raises(ValueError, match="batch norm"):
        make_gan_recipe(GANConfig(loss="wgan_gp", image_size=32), get_spec("digits"))
    with pytest.raises(ValueError, match="image_size"):
        make_gan_recipe(GANConfig(), get_spec("mnist_idx"))  # 28x28 needs resizing for DCGAN


@pytest.mark.parametrize(
    "make",
    [
        lambda: (DCGANGenerator(16, 1, width=4, num_classes=10), (2, 6)),
        lambda: (MLPGenerator((8,), (4, 4, 1), num_classes=10), (2, 6)),
    ],
    ids=["dcgan", "mlp"],
)
def test_generator_label_path(make):
    g, z_shape = make()
    z = jnp.ones(z_shape)
    labels = jnp.array([3, 3])

    @jax.jit
    def run(key):
        variables = g.init(key, z, labels, train=False)
        a = g.apply(variables, z, labels, train=False)
        return a, g.apply(variables, z, jnp.array([3, 7]), train=False)

    a, b = run(jax.random.key(0))
    np.testing.assert_allclose(a[0], b[0])  # same label, same image
    assert float(jnp.max(jnp.abs(a[1] - b[1]))) > 1e-4  # the label changes the image


@pytest.mark.parametrize("conditioning", ["projection", "concat"])
@pytest.mark.parametrize("network", ["dcgan", "mlp"])
def test_discriminator_label_path_has_gradient(network, conditioning):
    if network == "dcgan":
        d = DCGANDiscriminator(width=4, norm="none", num_classes=10, conditioning=conditioning)
    else:
        d = MLPDiscriminator((8,), num_classes=10, conditioning=conditioning)
    x = jax.random.normal(jax.random.key(1), (2, 16, 16, 1))
    labels = jnp.array([2, 5])
    variables = jax.jit(d.init)(jax.random.key(0), x, labels)

    def output_sum(params):
        return jnp.sum(d.apply({**variables, "params": params}, x, labels))

    grads = jax.jit(jax.grad(output_sum))(variables["params"])
    if network == "mlp" and conditioning == "concat":  # the one-hot's rows of the first layer
        rows = np.abs(np.asarray(grads["Dense_0"]["kernel"][-10:])).sum(axis=-1)
    else:
        leaves = jax.tree_util.tree_leaves_with_path(grads)
        embed = [v for path, v in leaves if "Embed" in str(path)]
        assert embed, "no label embedding in the discriminator"
        rows = np.abs(np.asarray(embed[0])).sum(axis=-1)
    assert rows[2] > 0 and rows[5] > 0 and rows[0] == 0  # only the given labels' rows move
    apply = jax.jit(d.apply)
    other = apply(variables, x, jnp.array([2, 6]))
    assert float(jnp.abs(other[1] - apply(variables, x, labels)[1])) > 0


@pytest.mark.parametrize("norm", ["layer", "instance", "none"])
def test_penalty_friendly_critics_score_each_example_alone(norm):
    # WGAN-GP differentiates each example's score: it must not depend on the others.
    x = jax.random.normal(jax.random.key(0), (3, 16, 16, 1))
    critic = DCGANDiscriminator(width=4, norm=norm)
    variables = critic.init(jax.random.key(1), x)
    together = critic.apply(variables, x, train=True)
    alone = critic.apply(variables, x[:1], train=True)
    np.testing.assert_allclose(together[:1], alone, rtol=1e-5, atol=1e-6)


def test_noise_priors_and_the_recipe_that_draws_from_them():
    from gensys.gan import draw_noise
    from gensys.recipes.registry import build_recipe

    uniform = np.asarray(draw_noise("uniform", jax.random.key(0), (20_000, 4)))
    assert uniform.min() >= -1.0 and uniform.max() <= 1.0
    assert abs(uniform.mean()) < 0.01 and abs(uniform.var() - 1 / 3) < 0.01
    normal = np.asarray(draw_noise("normal", jax.random.key(0), (20_000, 4)))
    assert abs(normal.var() - 1.0) < 0.03 and np.abs(normal).max() > 1.0
    with pytest.raises(ValueError, match="prior must be one of"):
        draw_noise("cauchy", jax.random.key(0), (2,))
    with pytest.raises(ValueError, match="prior must be one of"):
        build_recipe("gan", {"network": "mlp", "prior": "cauchy"}, get_spec("gaussians8"))
    # The same generator and key: a uniform prior gives other samples than a normal one.
    spec = get_spec("gaussians8")
    batch = {"image": jnp.zeros((8, 1, 1, 2)), "label": -jnp.ones(8, jnp.int32),
             "mask": jnp.ones(8)}  # fmt: skip
    samples = {}
    for prior in ("normal", "uniform"):
        recipe = build_recipe("gan", {"network": "mlp", "prior": prior}, spec)
        state = jax.jit(recipe.init)(jax.random.key(1), batch)
        samples[prior] = np.asarray(recipe.sample(state, jax.random.key(2), 16))
    assert np.all(np.isfinite(samples["uniform"]))
    assert not np.allclose(samples["normal"], samples["uniform"])


def test_gan_players_can_train_with_sgd_and_momentum():
    from gensys.recipes.registry import build_recipe

    spec = get_spec("gaussians8")
    model = {"network": "mlp", "optimizer": "sgd", "momentum": 0.5, "g_learning_rate": 0.05,
             "d_learning_rate": 0.05}  # fmt: skip
    recipe = build_recipe("gan", model, spec)
    batch = {"image": jax.random.normal(jax.random.key(0), (16, 1, 1, 2)),
             "label": -jnp.ones(16, jnp.int32), "mask": jnp.ones(16)}  # fmt: skip
    state = jax.jit(recipe.init)(jax.random.key(1), batch)
    new_state, metrics = jax.jit(recipe.train_step)(state, batch, jax.random.key(2))
    before = jax.tree.leaves(state.players.discriminator)
    after = jax.tree.leaves(new_state.players.discriminator)
    assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))
    assert np.isfinite(float(metrics["train/d_loss"]))


@pytest.mark.parametrize("network", ["dcgan", "mlp"])
def test_spectral_norm_divides_each_layer_by_its_largest_singular_value(network):
    if network == "dcgan":
        d = DCGANDiscriminator(width=4, norm="none", spectral_norm=True)
    else:
        d = MLPDiscriminator((16, 8), spectral_norm=True)
    x = jax.random.normal(jax.random.key(0), (4, 16, 16, 1))
    variables = jax.jit(d.init, static_argnames="train")(jax.random.key(1), x, train=False)
    params = variables["params"]

    @jax.jit
    def training_pass(v):
        out, updates = d.apply(v, x, train=True, mutable=["batch_stats"])
        return out, {**v, **updates}

    for _ in range(40):  # one power-iteration step a training pass
        _, variables = training_pass(variables)
    layers = {name.split("/")[0]: stats for group in variables["batch_stats"].values()
              for name, stats in group.items() if name.endswith("/sigma")}  # fmt: skip
    assert sorted(layers) == sorted(params)  # every layer, the output one included
    for name, sigma in layers.items():
        kernel = np.asarray(params[name]["kernel"], np.float64)
        largest = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        np.testing.assert_allclose(float(sigma), largest, rtol=1e-3, err_msg=name)
    # The output uses the normalised kernels: scaling every kernel leaves it unchanged
    # (with zero biases), and evaluation and penalty passes (batch_stats fixed) read u.
    zero_bias = jax.tree_util.tree_map_with_path(
        lambda path, p: jnp.zeros_like(p) if path[-1].key == "bias" else p, params
    )
    scaled = jax.tree_util.tree_map_with_path(
        lambda path, p: 3.0 * p if path[-1].key == "kernel" else p, zero_bias
    )
    at = lambda p: d.apply({**variables, "params": p}, x, train=True)  # noqa: E731
    np.testing.assert_allclose(at(scaled), at(zero_bias), rtol=1e-4, atol=1e-6)
    before = variables["batch_stats"]
    _, after = jax.jit(lambda v: d.apply(v, x, train=False, mutable=["batch_stats"]))(variables)
    for a, b in zip(jax.tree.leaves(before), jax.tree.leaves(after["batch_stats"]), strict=True):
        np.testing.assert_array_equal(a, b)


def test_mlp_generator_with_batch_norm_gelu_and_sigmoid_pixels():
    z = jax.random.normal(jax.random.key(0), (32, 6))
    make = functools.partial(
        MLPGenerator, (16, 32), (4, 4, 1), activation="gelu", batch_norm=True
    )  # fmt: skip
    generator = make(output="sigmoid")
    variables = generator.init(jax.random.key(1), z, None, train=False)
    assert set(variables) == {"params", "batch_stats"}
    out, updates = generator.apply(variables, z, None, train=True, mutable=["batch_stats"])
    assert out.shape == (32, 4, 4, 1)
    assert float(out.min()) >= -1.0 and float(out.max()) <= 1.0
    moved = jax.tree.leaves(updates["batch_stats"])
    assert any(
        not np.allclose(a, b)
        for a, b in zip(moved, jax.tree.leaves(variables["batch_stats"]), strict=True)
    )
    # Sigmoid pixels p in [0, 1], returned as 2 p - 1: the same network without an output map.
    logits = make(output="none").apply(variables, z, None, train=False)
    expected = 2.0 * jax.nn.sigmoid(logits) - 1.0
    np.testing.assert_allclose(
        generator.apply(variables, z, None, train=False), expected, atol=1e-6
    )
    # With running statistics each sample depends on its own noise only.
    alone = generator.apply(variables, z[:1], None, train=False)
    np.testing.assert_allclose(
        alone[0], generator.apply(variables, z, None, train=False)[0], atol=1e-5
    )
    with pytest.raises(ValueError, match="output must be one of"):
        make(output="relu").init(jax.random.key(1), z, None, train=False)


def test_generator_first_and_the_l1_term():
    from gensys.recipes.registry import build_recipe

    spec = get_spec("digits")
    model = {"network": "mlp", "latent_dim": 4, "g_hidden": (8,), "d_hidden": (8,),
             "activation": "gelu", "g_batch_norm": True, "g_output": "sigmoid"}  # fmt: skip
    batch = {"image": jax.random.uniform(jax.random.key(0), (16, 8, 8, 1), minval=-1.0),
             "label": jnp.zeros(16, jnp.int32), "mask": jnp.ones(16)}  # fmt: skip

    def step(**changes):
        recipe = build_recipe("gan", {**model, **changes}, spec)
        state = jax.jit(recipe.init)(jax.random.key(1), batch)
        return jax.jit(recipe.train_step)(state, batch, jax.random.key(2))

    # Generator first: its update does not see the discriminator's, so the discriminator's
    # learning rate cannot change it; generator last, it does.
    for g_first in (True, False):
        moved, frozen = (step(g_first=g_first, d_learning_rate=lr)[0] for lr in (1e-1, 1e-6))
        same = [np.array_equal(a, b) for a, b in zip(
            jax.tree.leaves(moved.players.generator["params"]),
            jax.tree.leaves(frozen.players.generator["params"]), strict=True)]  # fmt: skip
        assert all(same) if g_first else not any(same)
    # The L1 term: g_loss grows by its weight times the reported mean |fake - real| / 2.
    _, plain = step()
    _, with_l1 = step(g_l1_weight=0.05)
    assert 0.0 < float(with_l1["train/g_l1"]) <= 1.0
    np.testing.assert_allclose(
        with_l1["train/g_loss"] - plain["train/g_loss"], 0.05 * with_l1["train/g_l1"], rtol=1e-5
    )
    for bad, match in (({"g_output": "relu"}, "g_output must be"),
                       ({"activation": "swish"}, "activation must be one of"),
                       ({"g_l1_weight": -1.0}, "g_l1_weight must be >= 0"),
                       ({"network": "dcgan", "image_size": 8},
                        "activation, g_batch_norm, g_output apply to network='mlp'")):  # fmt: skip
        with pytest.raises(ValueError, match=match):
            build_recipe("gan", {**model, **bad}, spec)
