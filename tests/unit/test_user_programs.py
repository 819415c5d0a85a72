"""Each family's math in a user's own program: public imports only, the user's own Flax
module and loss, one jitted training step (which must lower that loss on the batch it saw)
and jitted sampling. About ten lines of user code each; nothing from gensys's recipes,
networks or engine."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

KEY = jax.random.key(0)
X = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (16, 4, 4, 1)), jnp.float32)


def adam_step(loss_fn, params, opt_state, optimizer, *args):
    loss, grads = jax.value_and_grad(loss_fn)(params, *args)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def assert_step_lowers(loss_fn, params, *args, lr=1e-2):
    """One jitted Adam step of ``loss_fn`` lowers it on the same inputs; returns the params."""
    optimizer = optax.adam(lr)
    step = jax.jit(lambda p, s: adam_step(loss_fn, p, s, optimizer, *args))
    new_params, _, before = step(params, optimizer.init(params))
    after = jax.jit(loss_fn)(new_params, *args)
    assert np.isfinite(before) and after < before, (before, after)
    return new_params


def test_diffusion_in_a_users_program():
    from gensys import diffusion as gd

    class Denoiser(nn.Module):  # the user's own epsilon model
        @nn.compact
        def __call__(self, x, t):
            time = jnp.broadcast_to((t / 100.0)[:, None, None, None], x.shape)
            hidden = nn.relu(nn.Conv(16, (3, 3))(jnp.concatenate([x, time], -1)))
            return nn.Conv(1, (3, 3))(hidden)

    net, schedule = Denoiser(), gd.make_schedule("linear", 100)
    params = net.init(KEY, X, jnp.zeros(16, jnp.int32))

    def model(p):
        return gd.Prediction(lambda x_t, t: net.apply(p, x_t, t), parameterization="eps")

    def loss(p):
        return gd.diffusion_loss(jax.random.key(1), schedule, model(p), X).mean()

    params = assert_step_lowers(loss, params)
    grid = gd.make_sampling_grid(schedule, 10, "trailing")
    draw = jax.jit(lambda p, k: gd.sample(k, gd.make_sampler("ddim"), grid, model(p), X.shape))
    samples = draw(params, jax.random.key(2))
    assert samples.shape == X.shape and bool(jnp.all(jnp.isfinite(samples)))


def test_vae_in_a_users_program():
    from gensys import vae

    class VAE(nn.Module):  # the user's own encoder and decoder
        def setup(self):
            self.encoder, self.decoder = nn.Dense(2 * 4), nn.Dense(16)

        def __call__(self, x, key):
            mean, log_var = jnp.split(self.encoder(x.reshape(len(x), -1)), 2, axis=-1)

            def log_px(x, z):  # Bernoulli pixels; z [B, K, 4] -> [B, K]
                return vae.bernoulli_log_likelihood(x[:, None], self.decoder(z), event_ndim=1)

            return vae.elbo(key, x.reshape(len(x), -1), mean, log_var, log_px)["elbo"]

        def decode(self, z):
            return jax.nn.sigmoid(self.decoder(z))

    binary, model = (X > 0).astype(jnp.float32), VAE()
    params = model.init(KEY, binary, KEY)
    params = assert_step_lowers(lambda p: -model.apply(p, binary, jax.random.key(1)).mean(), params)
    decode = jax.jit(lambda p, k: model.apply(p, jax.random.normal(k, (8, 4)), method=VAE.decode))
    p = decode(params, jax.random.key(2))  # Bernoulli means of 8 decoded samples
    assert p.shape == (8, 16) and bool(jnp.all((p > 0) & (p < 1)))


def test_gan_in_a_users_program():
    from gensys import gan

    generator, discriminator = nn.Dense(16), nn.Sequential([nn.Dense(32), nn.relu, nn.Dense(1)])
    real, z = X.reshape(16, -1), jax.random.normal(KEY, (16, 8))
    g_params, d_params = generator.init(KEY, z), discriminator.init(KEY, real)

    def d_loss(d, g):
        fake = jax.lax.stop_gradient(generator.apply(g, z))
        logits = lambda x: discriminator.apply(d, x)[:, 0]  # noqa: E731
        return gan.hinge_discriminator_loss(logits(real), logits(fake)).mean()

    def g_loss(g, d):
        logits = discriminator.apply(d, generator.apply(g, z))[:, 0]
        return gan.nonsaturating_generator_loss(logits).mean()

    d_params = assert_step_lowers(d_loss, d_params, g_params)  # the discriminator first
    g_params = assert_step_lowers(g_loss, g_params, d_params)  # then the generator
    samples = jax.jit(lambda g, k: generator.apply(g, jax.random.normal(k, (4, 8))))(g_params, KEY)
    assert samples.shape == (4, 16) and bool(jnp.all(jnp.isfinite(samples)))


def test_flow_in_a_users_program():
    from gensys import flows

    class Conditioner(nn.Module):  # the user's own coupling network
        @nn.compact
        def __call__(self, h):
            shift, log_scale = jnp.split(nn.Dense(2)(nn.tanh(nn.Dense(16)(h))), 2, axis=-1)
            return shift, 0.5 * jnp.tanh(log_scale)

    points = jax.random.normal(KEY, (64, 1, 1, 2)) * jnp.array([1.0, 0.3]) + 0.5
    conditioner = Conditioner()
    params = [conditioner.init(jax.random.key(i), points) for i in range(2)]

    def flow(p):
        masks = [flows.channel_mask((1, 1, 2), parity) for parity in (0, 1)]
        parts = [
            flows.affine_coupling(m, lambda h, q=q: conditioner.apply(q, h))
            for m, q in zip(masks, p, strict=True)
        ]
        return flows.FlowDistribution(flows.chain(*parts), (1, 1, 2))

    params = assert_step_lowers(lambda p: -flow(p).log_prob(points).mean(), params)
    samples = jax.jit(lambda p, k: flow(p).sample(k, 8))(params, KEY)
    assert samples.shape == (8, 1, 1, 2) and bool(jnp.all(jnp.isfinite(samples)))


def test_autoregressive_in_a_users_program():
    from gensys.autoregressive import made_masks, sample_by_rerunning
    from gensys.distributions import categorical_log_prob

    levels = (X > 0).astype(jnp.int32)  # 16 binary images of 4x4
    _, (m1, m2) = made_masks(16, (32,), 1)  # the user's own one-hidden-layer MADE

    class MADE(nn.Module):
        @nn.compact
        def __call__(self, x):
            w1 = self.param("w1", nn.initializers.lecun_normal(), (16, 32))
            w2 = self.param("w2", nn.initializers.lecun_normal(), (32, 16 * 2))
            h = nn.relu(x.reshape(len(x), -1) @ (w1 * m1[0]))
            w2 = (w2.reshape(32, 16, 2) * m2[0][..., None]).reshape(32, -1)  # a mask per output
            return (h @ w2).reshape(x.shape + (2,))

    made = MADE()
    params = made.init(KEY, levels.astype(jnp.float32))
    logits_fn = lambda p, x: made.apply(p, x.astype(jnp.float32))  # noqa: E731

    def nll(p):
        return -categorical_log_prob(levels, logits_fn(p, levels)).sum(axis=(1, 2, 3)).mean()

    params = assert_step_lowers(nll, params)
    draw = jax.jit(lambda p, k: sample_by_rerunning(k, lambda x: logits_fn(p, x), 4, (4, 4, 1)))
    samples = draw(params, KEY)
    assert samples.shape == (4, 4, 4, 1) and set(np.unique(samples)) <= {0, 1}
