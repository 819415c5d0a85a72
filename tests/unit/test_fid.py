"""The FID path on a tiny randomly initialised Inception-v3 stand-in: weights files in
PyTorch names and layouts round-trip, bad files and missing files fail clearly, the
preprocessing follows the protocol, and FID behaves as a distance."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.eval import fid as fid_lib

WIDTH = 1 / 16


@pytest.fixture(scope="module")
def stand_in():
    variables = fid_lib.random_variables(0, width=WIDTH)
    return fid_lib.InceptionFeatures(variables, width=WIDTH, size=75)


def test_weights_file_round_trips_in_pytorch_names(stand_in, tmp_path):
    state = fid_lib.state_dict_from_variables(stand_in.variables)
    assert state["Conv2d_1a_3x3.conv.weight"].shape == (2, 3, 3, 3)  # [O, I, kh, kw]
    assert state["Mixed_7c.branch_pool.bn.running_var"].shape == (12,)
    np.savez(tmp_path / "w.npz", **state, **{"fc.weight": np.zeros((1008, 128))})
    loaded = fid_lib.load_inception_weights(tmp_path / "w.npz", width=WIDTH)
    images = np.asarray(jax.random.uniform(jax.random.key(1), (4, 12, 12, 1), minval=-1, maxval=1))
    again = fid_lib.InceptionFeatures(loaded, width=WIDTH, size=75)
    np.testing.assert_array_equal(again.features(images), stand_in.features(images))


def test_bad_and_missing_weights_fail_clearly(stand_in, tmp_path, monkeypatch):
    monkeypatch.delenv(fid_lib.WEIGHTS_ENV, raising=False)
    with pytest.raises(FileNotFoundError, match="Inception-v3 weights file.*convert"):
        fid_lib.load_inception_weights()
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        fid_lib.load_inception_weights(tmp_path / "nowhere.npz")
    state = fid_lib.state_dict_from_variables(stand_in.variables)
    del state["Mixed_5b.branch1x1.bn.weight"]
    state["Conv2d_1a_3x3.conv.weight"] = np.zeros((5, 3, 3, 3))
    with pytest.raises(ValueError) as error:
        fid_lib.variables_from_state_dict(state, width=WIDTH)
    assert "missing Mixed_5b.branch1x1.bn.weight" in str(error.value)
    assert "Conv2d_1a_3x3.conv.weight: file (3, 3, 3, 5), network (3, 3, 3, 2)" in str(error.value)


def test_preprocessing_quantizes_resizes_and_repeats_grey():
    grey = jnp.full((2, 8, 8, 1), 0.5)
    x = fid_lib.to_inception_input(grey, size=80)
    assert x.shape == (2, 80, 80, 3)
    np.testing.assert_allclose(x, np.round(1.5 * 127.5) / 127.5 - 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="1 or 3"):
        fid_lib.to_inception_input(jnp.zeros((2, 8, 8, 2)))
    with pytest.raises(ValueError, match="H >= 75"):
        stand_in_net = fid_lib.FIDInceptionV3(WIDTH)
        stand_in_net.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)))


def test_fid_is_zero_for_one_set_and_grows_with_a_shift(stand_in):
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (40, 10, 10, 1)).astype(np.float32)
    assert fid_lib.fid(real, real, stand_in, batch_size=16) == pytest.approx(0.0, abs=1e-6)
    darker = np.clip(real - 0.5, -1, 1)
    assert fid_lib.fid(real, darker, stand_in, batch_size=16) > 1e-3


def test_converting_a_pth_file_loads_weights_only(tmp_path, monkeypatch):
    # A .pth is a pickle: conversion must not let it run code (torch.load's weights_only).
    import sys
    import types

    calls = []

    def load(source, **kwargs):
        calls.append(kwargs)
        raise RuntimeError("stop after the load")

    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(load=load))
    with pytest.raises(RuntimeError, match="stop after the load"):
        fid_lib.convert_torch_checkpoint(str(tmp_path / "w.pth"), str(tmp_path / "w.npz"))
    assert calls == [{"map_location": "cpu", "weights_only": True}]
