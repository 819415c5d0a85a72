"""Flow matching against Gaussian data, whose marginal velocity and transport map are known."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.diffusion.flow_matching import (
    flow_log_density,
    flow_matching_loss,
    interpolate,
    sample_ode,
    sample_times,
)

MU, S = 0.5, 0.6


def gaussian_velocity(x, t):
    """E[x1 - x0 | x_t = x] for x0 ~ N(0, I), x1 ~ N(MU, S^2 I) and the straight path."""
    t = t.reshape(-1, *([1] * (x.ndim - 1)))
    variance = (1 - t) ** 2 + t**2 * S**2
    return MU + (t * S**2 - (1 - t)) / variance * (x - t * MU)


def test_the_path_and_its_velocity():
    noise, data = jnp.full((2, 3), -1.0), jnp.full((2, 3), 2.0)
    x_t, u = interpolate(noise, data, jnp.array([0.0, 1.0]))
    np.testing.assert_allclose(x_t, jnp.stack([noise[0], data[1]]))
    np.testing.assert_allclose(u, data - noise)
    x_t, u = interpolate(noise, data, jnp.array([0.5, 0.5]), sigma_min=0.1)
    np.testing.assert_allclose(x_t, 0.55 * noise + 0.5 * data, rtol=1e-6)
    np.testing.assert_allclose(u, data - 0.9 * noise, rtol=1e-6)
    t = sample_times(jax.random.key(0), 20_000, "logit_normal")
    assert 0 < float(t.min()) and float(t.max()) < 1 and abs(float(jnp.median(t)) - 0.5) < 0.01


def test_the_marginal_velocity_minimises_the_loss():
    data = MU + S * jax.random.normal(jax.random.key(1), (4096, 2))

    def loss(velocity):
        return jnp.mean(flow_matching_loss(jax.random.key(2), velocity, data))

    best = float(loss(gaussian_velocity))
    for wrong in (lambda x, t: gaussian_velocity(x, t) * 1.1,
                  lambda x, t: gaussian_velocity(x, t) + 0.1):  # fmt: skip
        assert float(loss(wrong)) > best


def test_the_ode_transports_noise_to_the_data_and_gives_its_density():
    noise = jax.random.normal(jax.random.key(3), (6, 2))
    # The straight-path flow of two Gaussians is their monotone map x1 = MU + S x0.
    # Measured: Heun 2.4e-4 (its last step is Euler's), Euler 2.4e-3 (first order).
    for method, steps, tolerance in (("heun", 64, 1e-3), ("euler", 512, 5e-3)):
        x1 = jax.jit(
            lambda z, n=steps, m=method: sample_ode(gaussian_velocity, z, num_steps=n, method=m)
        )(noise)
        np.testing.assert_allclose(x1, MU + S * noise, atol=tolerance, err_msg=method)
    x = MU + S * noise
    log_p = jax.jit(lambda v: flow_log_density(gaussian_velocity, v, num_steps=64))(x)
    true = jax.scipy.stats.norm.logpdf(x, MU, S).sum(-1)
    np.testing.assert_allclose(log_p, true, atol=1e-3)
    with pytest.raises(ValueError, match="method must be one of"):
        sample_ode(gaussian_velocity, noise, num_steps=4, method="rk4")


def test_gensys_samplers_run_on_the_straight_path():
    from gensys.diffusion import make_sampler, sample
    from gensys.diffusion.flow_matching import sampling_grid, velocity_as_data_prediction

    noise = jax.random.normal(jax.random.key(5), (6, 2))
    model = velocity_as_data_prediction(gaussian_velocity)
    # Measured at 8, 16, 32 steps: DPM-Solver++ 2M 0.037, 0.021, 0.010; 3M 0.0055 at 8.
    for name, steps, tolerance in (("dpmpp_2m", 32, 0.02), ("dpmpp_3m", 8, 0.015)):
        x1 = sample(None, make_sampler(name), sampling_grid(steps), model, noise.shape,
                    parameterization="x0", x_init=noise)  # fmt: skip
        np.testing.assert_allclose(x1, MU + S * noise, atol=tolerance, err_msg=name)
    with pytest.raises(ValueError, match="Heun steps in x / alpha"):
        sample(None, make_sampler("heun"), sampling_grid(4), model, noise.shape,
               parameterization="x0", x_init=noise)  # fmt: skip
