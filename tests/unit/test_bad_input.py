"""Bad input raises ValueError / TypeError that names the argument and the value."""

import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys import checks
from gensys.data import datasets
from gensys.diffusion import ddpm_ddim, losses, process, schedules

S = schedules.linear_schedule(1000)
X = jnp.zeros((2, 4, 4, 1))
T_OK = jnp.array([0, 999], jnp.int32)


def test_t_out_of_range_eager_raises():
    with pytest.raises(ValueError, match=r"t must be in \[0, 1000\), got min 0 and max 1000"):
        process.q_sample(S, X, jnp.array([0, 1000], jnp.int32), X)
    with pytest.raises(ValueError, match=r"t must be in \[0, 1000\), got min -1"):
        process.q_posterior(S, X, X, jnp.array([-1, 3], jnp.int32))


def test_t_out_of_range_under_jit_is_nan_not_clamped_or_wrapped():
    out = jax.jit(process.q_sample)(S, X + 1.0, jnp.array([5, 1000], jnp.int32), X)
    assert np.all(np.isfinite(out[0])) and np.all(np.isnan(out[1]))
    # A negative step used to wrap to step 999 under jit (eagerly it raises).
    out = jax.jit(process.q_sample)(S, X + 1.0, jnp.array([-1, 5], jnp.int32), X)
    assert np.all(np.isnan(out[0])) and np.all(np.isfinite(out[1]))
    mean, variance, log_variance = jax.jit(process.q_posterior)(
        S, X + 1.0, X + 1.0, jnp.array([-1, 1000], jnp.int32)
    )
    for value in (mean, variance, log_variance):
        assert np.all(np.isnan(value))


def test_t_wrong_dtype_and_shape():
    with pytest.raises(TypeError, match="t must have an integer dtype, got float32"):
        process.q_sample(S, X, jnp.array([0.0, 1.0]), X)
    with pytest.raises(ValueError, match=r"t must have shape \(2,\), got \(3,\)"):
        process.q_sample(S, X, jnp.array([0, 1, 2], jnp.int32), X)


def test_x_wrong_dtype_and_rank():
    with pytest.raises(TypeError, match="x0 must have a floating dtype, got int32"):
        process.q_sample(S, jnp.zeros((2, 4), jnp.int32), T_OK, jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="x0 must have a leading batch axis"):
        process.q_sample(S, jnp.float32(1.0), T_OK, jnp.float32(1.0))
    with pytest.raises(ValueError, match=r"noise and x0 must have the same shape"):
        process.q_sample(S, X, T_OK, jnp.zeros((2, 4, 4, 3)))


def test_model_output_shape_is_checked():
    with pytest.raises(ValueError, match=r"model_fn\(x_t, t\) and x0 must have the same shape"):
        losses.eps_prediction_loss(jax.random.key(0), S, lambda x, t: x[..., :0], X)
    with pytest.raises(ValueError, match=r"model_fn\(x_t, t\) and x_t"):
        ddpm_ddim.ddpm_step(S, lambda x, t: x[:1], X, T_OK, X)


def test_checks_name_argument():
    with pytest.raises(ValueError, match=r"images must have rank 4, got shape \(2, 3\)"):
        checks.check_rank(jnp.zeros((2, 3)), 4, "images")
    with pytest.raises(TypeError, match="labels must be an array, got list"):
        checks.check_integer([1, 2], "labels")


def test_unknown_dataset_lists_known_ones():
    with pytest.raises(
        ValueError, match=r"unknown dataset 'mnits'; known datasets: .*digits.*mnist"
    ):
        datasets.load_split("mnits", "train")


def test_catalogue_dataset_not_prepared_fails_at_once(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("must not touch the network when download=False")

    monkeypatch.setattr(datasets, "source_reachable", no_network)
    start = time.perf_counter()
    with pytest.raises(
        datasets.DatasetNotAvailableError, match=r"'mnist' is not prepared in .*--config.data.dir"
    ):
        datasets.load_split("mnist", "train", data_dir=tmp_path)
    assert time.perf_counter() - start < 10


def test_catalogue_dataset_unreachable_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(datasets, "source_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(datasets.DatasetNotAvailableError, match="cannot be reached"):
        datasets.load_split("cifar10", "train", data_dir=tmp_path, download=True)


def test_local_dataset_needs_a_directory(tmp_path, data_cache):
    with pytest.raises(datasets.DatasetNotAvailableError, match="pass their directory"):
        datasets.load_split("binarized_mnist", "train", cache_dir=data_cache)
    with pytest.raises(datasets.DatasetNotAvailableError, match="does not exist"):
        datasets.load_split(
            "binarized_mnist", "train", data_dir=tmp_path / "nope", cache_dir=data_cache
        )


def test_unknown_split(data_cache):
    with pytest.raises(ValueError, match=r"no split 'valid'; available: \['train', 'test'\]"):
        datasets.load_split("digits", "valid", cache_dir=data_cache)
