"""Objectives checked on constructed cases whose values are known: the diffusion loss and
its weightings, the VAE's KL weight schedule, one adversarial step per player, pix2pix's
skips and L1 weight."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from gensys import diffusion as gd
from gensys.data.datasets import get_spec
from gensys.recipes import build_recipe
from gensys.recipes.players import Players, discriminator_step, generator_step

SCHEDULE = gd.make_schedule("linear", 1000)
KEY = jax.random.key(0)


def _timesteps_and_noise(key, x0):
    """The ``t`` and ``eps`` that ``diffusion_loss(key, ...)`` draws (its documented use of
    ``key``: one split, ``t`` uniform from the first half, ``eps`` normal from the second)."""
    t_key, noise_key = jax.random.split(key)
    t = gd.sample_timesteps(t_key, x0.shape[0], SCHEDULE.num_timesteps)
    return t, jax.random.normal(noise_key, x0.shape, x0.dtype)


def test_diffusion_loss_of_the_true_noise_is_zero_and_of_zero_is_one():
    x0 = jax.random.uniform(jax.random.key(1), (512, 8, 8, 1), minval=-1, maxval=1)
    t, noise = _timesteps_and_noise(KEY, x0)
    alpha = SCHEDULE.sqrt_alpha_bars[t][:, None, None, None]
    sigma = SCHEDULE.sqrt_one_minus_alpha_bars[t][:, None, None, None]

    def oracle(x_t, t_):  # knows x0, so recovers the noise exactly
        return (x_t - alpha * x0) / sigma

    exact = gd.diffusion_loss(KEY, SCHEDULE, oracle, x0)
    np.testing.assert_allclose(exact, 0.0, atol=1e-6)
    # The zero model scores mean(eps^2) per example: 1 per dimension on average.
    zero = gd.diffusion_loss(KEY, SCHEDULE, lambda x_t, t_: jnp.zeros_like(x_t), x0)
    np.testing.assert_allclose(zero, jnp.mean(jnp.square(noise), axis=(1, 2, 3)), rtol=1e-6)
    assert abs(float(jnp.mean(zero)) - 1.0) < 0.03


def test_diffusion_loss_weightings_on_a_constructed_case():
    # An x0-predicting model that is off by 0.5 everywhere: its x0 error is 0.25 a dimension,
    # so each weighting's loss is its weight lambda(SNR_t) times 0.25.
    x0 = jnp.zeros((256, 4, 4, 1))
    t, _ = _timesteps_and_noise(KEY, x0)
    snr = SCHEDULE.alpha_bars[t] / (1.0 - SCHEDULE.alpha_bars[t])
    model = gd.Prediction(lambda x_t, t_: jnp.full_like(x_t, 0.5), parameterization="x0")
    expected = {"simple": jnp.ones_like(snr), "snr": snr, "min_snr": jnp.minimum(snr, 5.0)}
    assert bool(jnp.any(snr > 5.0)) and bool(jnp.any(snr < 5.0))  # both sides of gamma
    for weighting, weight in expected.items():
        loss = gd.diffusion_loss(KEY, SCHEDULE, model, x0, weighting=weighting)
        np.testing.assert_allclose(loss, 0.25 * weight, rtol=1e-5, err_msg=weighting)


def test_vae_kl_weight_follows_beta_and_warmup():
    spec = get_spec("digits")
    recipe = build_recipe("vae", {"hidden": (16,), "latent_dim": 2, "beta": 0.5,
                                  "kl_warmup_steps": 10}, spec)  # fmt: skip
    batch = {"image": jnp.full((4, 8, 8, 1), 8, jnp.int32), "label": jnp.zeros(4, jnp.int32),
             "mask": jnp.ones(4)}  # fmt: skip
    state = jax.jit(recipe.init)(KEY, batch)
    step = jax.jit(recipe.train_step)
    weights = []
    for i in range(12):
        state, metrics = step(state, batch, jax.random.key(i))
        weights.append(float(metrics["train/kl_weight"]))
        # The weight enters the loss: -ELBO_beta = -reconstruction + weight * KL.
        np.testing.assert_allclose(
            metrics["train/loss"],
            -metrics["train/reconstruction"] + metrics["train/kl_weight"] * metrics["train/kl"],
            rtol=1e-5,
        )
    np.testing.assert_allclose(weights, 0.5 * np.minimum(1.0, (np.arange(12) + 1) / 10), rtol=1e-6)


def test_one_adversarial_step_lowers_each_players_loss():
    # The shared two-player steps on a fixed batch: the discriminator's step lowers its own
    # loss, then the generator's step lowers the generator's loss against it.
    from gensys.gan.losses import cross_entropy_discriminator_loss, nonsaturating_generator_loss
    from gensys.nets.mlp import MLPDiscriminator, MLPGenerator

    generator, discriminator = MLPGenerator((32,), (1, 1, 2), "none"), MLPDiscriminator((32,))
    z = jax.random.normal(jax.random.key(1), (64, 4))
    real = jax.random.normal(jax.random.key(2), (64, 1, 1, 2)) + 2.0
    g_vars = generator.init(KEY, z, None, train=False)
    d_vars = discriminator.init(KEY, real, None, train=False)
    optimizer = optax.sgd(0.05)
    players = Players.create(g_vars, d_vars, optimizer)
    mask = jnp.ones(64)

    def d_objective(variables):
        fake = generator.apply(players.generator, z, None, train=True)
        real_out = discriminator.apply(variables, real, None, train=True)
        fake_out = discriminator.apply(variables, fake, None, train=True)
        return cross_entropy_discriminator_loss(real_out, fake_out), (variables, {})

    def g_objective(variables, d_variables):
        fake = generator.apply(variables, z, None, train=True)
        out = discriminator.apply(d_variables, fake, None, train=True)
        return nonsaturating_generator_loss(out), (variables, {})

    @jax.jit
    def both_steps(players):
        after_d, d_metrics = discriminator_step(players, d_objective, mask, optimizer)
        d_after = jnp.mean(d_objective(after_d.discriminator)[0])
        after_g, g_metrics = generator_step(after_d, g_objective, mask, optimizer)
        g_after = jnp.mean(g_objective(after_g.generator, after_g.discriminator)[0])
        return (
            after_d,
            after_g,
            d_metrics["train/d_loss"],
            d_after,
            g_metrics["train/g_loss"],
            g_after,
        )

    after_d, after_g, d_before, d_after, g_before, g_after = both_steps(players)
    assert float(d_after) < float(d_before)
    assert float(g_after) < float(g_before)
    # Each step moved only its own player.
    for moved, kept in ((after_d.generator, players.generator),
                        (after_g.discriminator, after_d.discriminator)):  # fmt: skip
        for a, b in zip(jax.tree.leaves(moved), jax.tree.leaves(kept), strict=True):
            np.testing.assert_array_equal(a, b)


def test_lazy_r1_and_r2_are_k_times_the_penalty_on_every_kth_update():
    spec = get_spec("gaussians8")
    model = {"network": "mlp", "latent_dim": 2, "g_hidden": (8,), "d_hidden": (8,),
             "loss": "nonsaturating", "r1_weight": 1.0, "r2_weight": 2.0}  # fmt: skip
    batch = {"image": jax.random.normal(KEY, (16, 1, 1, 2)), "label": -jnp.ones(16, jnp.int32),
             "mask": jnp.ones(16)}  # fmt: skip
    recipes = {k: build_recipe("gan", {**model, "penalty_every": k}, spec) for k in (1, 3)}
    state = jax.jit(recipes[1].init)(KEY, batch)  # the same state for both
    steps = {k: jax.jit(recipe.train_step) for k, recipe in recipes.items()}
    for index in range(4):  # one discriminator update a step: its index is the step
        at = state.replace(step=jnp.asarray(index, jnp.int32))
        every, lazy = (steps[k](at, batch, jax.random.key(9))[1] for k in (1, 3))
        assert float(every["train/r1"]) > 0 and float(every["train/r2"]) > 0
        for name in ("r1", "r2"):
            expected = 3.0 * every[f"train/{name}"] if index % 3 == 0 else 0.0
            np.testing.assert_allclose(lazy[f"train/{name}"], expected, rtol=1e-5, atol=0)
        # The penalties enter the discriminator's loss with gamma / 2.
        difference = 0.5 * (lazy["train/r1"] - every["train/r1"]) + 1.0 * (
            lazy["train/r2"] - every["train/r2"]
        )
        np.testing.assert_allclose(
            lazy["train/d_loss"] - every["train/d_loss"], difference, rtol=1e-4, atol=1e-5
        )
    with pytest.raises(ValueError, match="penalty_every must be >= 1"):
        build_recipe("gan", {**model, "penalty_every": 0}, spec)


def _pix2pix(l1_weight: float):
    spec = get_spec("digits")
    model = {"task": "edges", "image_size": 8, "g_width": 8, "g_max_width": 16,
             "d_widths": (8,), "l1_weight": l1_weight}  # fmt: skip
    recipe = build_recipe("pix2pix", model, spec)
    levels = jax.random.randint(jax.random.key(3), (4, 8, 8, 1), 0, 17)
    batch = {"image": levels.astype(jnp.float32) / 8.0 - 1.0, "label": jnp.zeros(4, jnp.int32),
             "mask": jnp.ones(4)}  # fmt: skip
    return recipe, batch


@pytest.mark.slow  # compile-heavy: in make test, not make test-fast
def test_pix2pix_applies_its_l1_weight():
    weight = 7.0
    recipe, batch = _pix2pix(weight)
    state = jax.jit(recipe.init)(KEY, batch)
    _, metrics = jax.jit(recipe.train_step)(state, batch, jax.random.key(4))
    np.testing.assert_allclose(
        metrics["train/g_loss"],
        metrics["train/g_adversarial"] + weight * metrics["train/l1"],
        rtol=1e-5,
    )


def test_pix2pix_unet_skips_reach_the_output():
    # Cut the path through the bottleneck (the first decoder layer's kernel set to zero):
    # the translation must still depend on the input, which only the skips can carry.
    from gensys.nets.pix2pix import UNetTranslator

    net = UNetTranslator(1, width=8, max_width=16, dropout_layers=0)
    x = jax.random.normal(jax.random.key(5), (2, 16, 16, 1))
    variables = net.init({"params": KEY, "dropout": KEY}, x, train=False)
    params = dict(variables["params"])
    first_up = sorted(k for k in params if k.startswith("SubPixelConvTranspose"))[0]
    params[first_up] = jax.tree.map(jnp.zeros_like, params[first_up])
    cut = {**variables, "params": params}

    def translate(v, inputs):
        return net.apply(v, inputs, train=False, rngs={"dropout": KEY})

    moved = translate(cut, x) - translate(cut, x + 0.5 * jax.random.normal(KEY, x.shape))
    assert float(jnp.max(jnp.abs(moved))) > 1e-3
    # Negative control: with every skip-carrying encoder output zeroed as well, nothing moves.
    silent = jax.tree.map(jnp.zeros_like, variables["params"])
    frozen = translate({**variables, "params": silent}, x) - translate(
        {**variables, "params": silent}, x + 1.0
    )
    assert float(jnp.max(jnp.abs(frozen))) == 0.0
