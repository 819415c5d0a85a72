"""Schedule values against ../shared/ANCHORS.md and their construction rules."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from gensys.diffusion import schedules


def test_linear_schedule_anchor_values():
    betas = schedules.linear_betas(1000)
    alpha_bars = np.cumprod(1.0 - betas)
    np.testing.assert_allclose(alpha_bars[999], 4.0358e-05, rtol=1e-4)
    s = schedules.linear_schedule(1000)
    assert s.posterior_variance[0] == 0.0
    np.testing.assert_allclose(s.posterior_variance[487], 0.0097916, rtol=1e-5)
    np.testing.assert_allclose(s.posterior_variance[999], 0.0200000, rtol=1e-5)
    np.testing.assert_allclose(s.alpha_bars[999], 4.0358e-05, rtol=1e-4)


def test_schedule_is_float32_frozen_pytree():
    s = schedules.linear_schedule(1000)
    for name in ("betas", "alpha_bars", "posterior_log_variance_clipped"):
        value = getattr(s, name)
        assert value.dtype == jnp.float32 and value.shape == (1000,)
    assert s.num_timesteps == 1000
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.betas = s.betas


def test_clipped_log_variance_uses_t1_at_t0():
    s = schedules.linear_schedule(1000)
    assert np.isfinite(s.posterior_log_variance_clipped[0])
    assert s.posterior_log_variance_clipped[0] == s.posterior_log_variance_clipped[1]
    np.testing.assert_allclose(
        np.exp(s.posterior_log_variance_clipped[1:]), s.posterior_variance[1:], rtol=1e-5
    )


def test_cosine_schedule_clips_only_the_last_beta():
    betas = schedules.cosine_betas(1000)
    assert betas[999] == pytest.approx(0.999)
    assert np.all(betas[:999] < 0.999)
    alpha_bars = np.cumprod(1.0 - betas)
    assert 1e-9 < alpha_bars[999] < 1e-8  # about 2.4e-9 per ANCHORS.md
    np.testing.assert_allclose(alpha_bars[999], 2.4e-9, rtol=0.1)


def test_alpha_bar_built_in_float64():
    s = schedules.linear_schedule(1000)
    exact = np.cumprod(1.0 - schedules.linear_betas(1000))
    np.testing.assert_allclose(np.asarray(s.alpha_bars), exact, rtol=2e-7)


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_bad_num_timesteps(bad):
    with pytest.raises(ValueError, match="num_timesteps"):
        schedules.linear_schedule(bad)


def test_bad_betas_and_unknown_schedule():
    with pytest.raises(ValueError, match=r"betas must lie in \(0, 1\)"):
        schedules.schedule_from_betas(np.array([1.0, 0.1]))  # beta = 1 only as the last
    with pytest.raises(ValueError, match=r"betas must lie in \(0, 1\)"):
        schedules.schedule_from_betas(np.array([0.1, 0.0]))
    with pytest.raises(ValueError, match="schedule must be one of"):
        schedules.make_schedule("quadratic", 10)


def test_short_linear_schedules_stay_finite():
    for steps in (1, 10, 20, 50):
        s = schedules.linear_schedule(steps)
        assert s.betas.max() <= np.float32(0.999)
        for name in ("sqrt_recip_alpha_bars", "sqrt_recipm1_alpha_bars", "posterior_mean_coef1"):
            assert np.all(np.isfinite(getattr(s, name))), (steps, name)


def test_scaled_linear_and_sigmoid_endpoints():
    b = schedules.scaled_linear_betas(1000)
    np.testing.assert_allclose([b[0], b[-1]], [0.00085, 0.012], rtol=1e-12)
    assert np.all(np.diff(np.sqrt(b)) > 0)
    np.testing.assert_allclose(np.diff(np.sqrt(b)), np.diff(np.sqrt(b))[0], rtol=1e-9)
    s = schedules.sigmoid_betas(1000)
    ends = 1e-4 + (0.02 - 1e-4) / (1 + np.exp([6.0, -6.0]))  # sigmoid(-6), sigmoid(6)
    np.testing.assert_allclose([s[0], s[-1]], ends, rtol=1e-12)
    np.testing.assert_allclose(s[::-1] + s, 1e-4 + 0.02, rtol=1e-12)  # symmetric sigmoid


@pytest.mark.parametrize("name", schedules.SCHEDULES)
def test_zero_terminal_snr_rescale(name):
    betas = schedules.BETAS[name](1000)
    rescaled = schedules.rescale_zero_terminal_snr(betas)
    before, after = np.cumprod(1 - betas), np.cumprod(1 - rescaled)
    assert after[-1] == 0 and rescaled[-1] == 1
    np.testing.assert_allclose(after[0], before[0], rtol=1e-12)  # first step unchanged
    assert np.all(np.diff(after) < 0)
    s = schedules.make_schedule(name, 1000, zero_terminal_snr=True)
    assert float(s.alpha_bars[-1]) == 0 and np.isinf(s.sqrt_recip_alpha_bars[-1])
    assert np.all(np.isfinite(s.posterior_mean_coef1)) and np.all(np.isfinite(s.posterior_variance))
