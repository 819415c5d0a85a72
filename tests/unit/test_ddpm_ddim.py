"""The DDPM step and the full sampler."""

import jax
import jax.numpy as jnp
import numpy as np

from gensys.diffusion import ddpm_ddim, process, schedules

SCHEDULE = schedules.linear_schedule(1000)


def test_ddpm_step_with_true_noise_is_posterior_mean_plus_noise():
    key_x, key_e, key_z = jax.random.split(jax.random.key(0), 3)
    x0 = jax.random.uniform(key_x, (4, 8, 8, 1), minval=-0.9, maxval=0.9)
    eps = jax.random.normal(key_e, x0.shape)
    z = jax.random.normal(key_z, x0.shape)
    t = jnp.array([1, 10, 400, 999], jnp.int32)
    xt = process.q_sample(SCHEDULE, x0, t, eps)

    def oracle(x, tt):
        return eps  # the exact noise: x0_hat recovers x0

    got = jax.jit(lambda x, tt, zz: ddpm_ddim.ddpm_step(SCHEDULE, oracle, x, tt, zz))(xt, t, z)
    mean, var, _ = process.q_posterior(SCHEDULE, x0, xt, t)
    np.testing.assert_allclose(got, mean + jnp.sqrt(var) * z, rtol=1e-4, atol=2e-5)


def test_ddpm_step_adds_no_noise_at_t0():
    x0 = jnp.full((2, 4, 4, 1), 0.25)
    eps = jnp.zeros_like(x0)
    t = jnp.zeros((2,), jnp.int32)
    xt = process.q_sample(SCHEDULE, x0, t, eps)
    out = ddpm_ddim.ddpm_step(SCHEDULE, lambda x, tt: eps, xt, t, jnp.ones_like(x0))
    np.testing.assert_allclose(out, x0, atol=1e-6)


def test_ddpm_step_clips_x0():
    xt = jnp.full((1, 2, 2, 1), 50.0)
    t = jnp.array([1], jnp.int32)
    out = ddpm_ddim.ddpm_step(
        SCHEDULE, lambda x, tt: jnp.zeros_like(x), xt, t, jnp.zeros_like(xt), clip_x0=True
    )
    mean, _, _ = process.q_posterior(SCHEDULE, jnp.ones_like(xt), xt, t)
    np.testing.assert_allclose(out, mean, rtol=1e-6)


def test_full_sampler_with_oracle_recovers_a_point_mass():
    # For data that is always x0*, the optimal eps model is (x_t - sqrt(a) x0*) / sqrt(1 - a);
    # the reverse chain must then end at x0*.
    schedule = schedules.linear_schedule(100)
    target = jnp.linspace(-0.8, 0.8, 16).reshape(1, 4, 4, 1)

    def oracle(x, t):
        return process.predict_eps_from_x0(schedule, x, t, jnp.broadcast_to(target, x.shape))

    out = jax.jit(lambda k: ddpm_ddim.ddpm_sample(k, schedule, oracle, (3, 4, 4, 1)))(
        jax.random.key(1)
    )
    np.testing.assert_allclose(out, jnp.broadcast_to(target, out.shape), atol=1e-4)


def test_samples_do_not_depend_on_batch_size():
    schedule = schedules.linear_schedule(20)

    def model(x, t):
        return 0.1 * x

    sample = jax.jit(
        lambda k, n: ddpm_ddim.ddpm_sample(k, schedule, model, (n, 4, 4, 1)), static_argnums=1
    )
    big, small = sample(jax.random.key(3), 5), sample(jax.random.key(3), 2)
    np.testing.assert_allclose(big[:2], small, rtol=1e-6)
    assert not np.allclose(big[0], big[1])


def test_sampler_traces_model_once():
    schedule = schedules.linear_schedule(50)
    traces = []

    def model(x, t):
        traces.append(1)
        return jnp.zeros_like(x)

    jax.jit(lambda k: ddpm_ddim.ddpm_sample(k, schedule, model, (2, 4, 4, 1)))(jax.random.key(0))
    assert len(traces) == 1  # lax.scan, not a Python loop over 50 steps
