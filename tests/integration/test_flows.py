"""Flow models end to end: whole-model round trips and log-dets, a normalised 2-D density,
and every flow config trained, resumed exactly, evaluated and sampled (tiny sizes)."""

import dataclasses
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.flows import FlowDistribution
from gensys.nets.flows import CouplingFlow, MultiScaleFlow, as_bijector
from gensys.train import loop
from gensys.train.metric_writers import read_metrics
from tests.conftest import recipe_of, shared_data, small_run_config, train_straight_and_resumed

KEY = jax.random.key(0)


def perturbed(params, scale=0.05):
    """Parameters moved off their (identity-like) initialisation; the fixed permutation
    and signs of the 1x1 convolutions stay as they are."""

    def move(path, leaf):
        name = jax.tree_util.keystr(path)
        if "permutation" in name or "sign" in name:
            return leaf
        key = jax.random.fold_in(KEY, zlib.crc32(name.encode()))
        return leaf + scale * jax.random.normal(key, leaf.shape)

    return jax.tree_util.tree_map_with_path(move, params)


@pytest.mark.parametrize(
    "architecture",
    ["realnvp", "glow", "glow_vectors", "glow_conditional", "glow_vectors_conditional"],
)
def test_whole_model_round_trip_and_log_det(architecture):
    # A conditional flow (a label's one-hot read by every conditioner) is a bijection of x
    # for each label, with its log-det.
    conditional = architecture.endswith("_conditional")
    architecture = architecture.removesuffix("_conditional")
    if architecture == "glow_vectors":
        model, x = (
            CouplingFlow("glow", num_layers=4, hidden=(16,)),
            jax.random.normal(KEY, (3, 1, 1, 2)),
        )
    else:
        model = MultiScaleFlow(architecture, num_scales=2, steps_per_scale=1, hidden=8)
        x = jax.random.uniform(KEY, (3, 8, 8, 1)) - 0.5
    context = jax.nn.one_hot(jnp.array([0, 2, 1]), 3) if conditional else None
    params = jax.jit(lambda k, x: model.init(k, x, inverse=True, context=context))(KEY, x)
    params = perturbed(params)
    bijector = as_bijector(model, params, context)
    z, log_det = jax.jit(bijector.inverse_and_log_det)(x)
    assert z.shape == x.shape
    back, log_det_back = jax.jit(bijector.forward_and_log_det)(z)
    np.testing.assert_allclose(back, x, atol=1e-5)
    np.testing.assert_allclose(log_det + log_det_back, 0.0, atol=1e-3)
    if conditional:  # only the first example's Jacobian is checked below: give it its label
        bijector = as_bijector(model, params, context[:1])
        other = as_bijector(model, params, context[1:2]).inverse(x[:1])
        assert np.abs(np.asarray(other - z[:1])).max() > 1e-3

    def flat(v):
        return bijector.inverse(v.reshape(1, *x.shape[1:])).reshape(-1)

    jacobian = jax.jit(jax.jacfwd(flat))(x[0].reshape(-1))
    assert float(jnp.linalg.slogdet(jacobian)[1]) == pytest.approx(float(log_det[0]), rel=1e-4)


@pytest.mark.parametrize("conditional", [False, True])
def test_two_dimensional_flow_density_integrates_to_one(conditional):
    # A conditional flow's p(x | c) integrates to one for each context c.
    model = CouplingFlow("glow", num_layers=4, hidden=(16,))
    x = jax.random.normal(KEY, (256, 1, 1, 2))
    grid = np.linspace(-10.0, 10.0, 1001)
    points = np.stack(np.meshgrid(grid, grid), -1).reshape(-1, 1, 1, 2).astype(np.float32)
    chunks = np.split(points, 7)
    contexts = [jnp.eye(3)[i] for i in range(3)] if conditional else [None]
    init_context = jnp.tile(jnp.eye(3)[:1], (256, 1)) if conditional else None
    params = perturbed(model.init(KEY, x, inverse=True, context=init_context), scale=0.2)
    masses = []
    for context in contexts:

        @jax.jit
        def log_prob(v, context=context):
            c = None if context is None else jnp.broadcast_to(context, (v.shape[0], 3))
            return FlowDistribution(as_bijector(model, params, c), (1, 1, 2)).log_prob(v)

        density = np.concatenate([np.exp(log_prob(c)) for c in chunks])
        masses.append(density.sum() * (grid[1] - grid[0]) ** 2)
    np.testing.assert_allclose(masses, 1.0, atol=1e-3)
    if conditional:  # and the contexts give different densities
        assert float(log_prob(points[:5], jnp.eye(3)[0])[0]) != float(
            log_prob(points[:5], jnp.eye(3)[1])[0]
        )


def tiny(name, data_cache, num_steps, **data):
    small = {"steps_per_scale": 1, "hidden": 8, "num_layers": 2, "mlp_hidden": (8,)}
    return small_run_config(name, data_cache, num_steps, small, **data)


def test_toy_config_resumes_exactly_and_draws_its_density(tmp_path, data_cache):
    name = "realnvp_gaussians8"
    config, resumed, _ = train_straight_and_resumed(
        lambda steps: tiny(name, data_cache, steps), tmp_path
    )
    metrics = loop.evaluate(config, resumed, recipe_of(config))
    assert metrics["eval/bpd"] == pytest.approx(metrics["eval/nll_nats"] / (2 * np.log(2)))
    assert (resumed / "samples" / "density_0000003.png").exists()
    assert [m["step"] for m in read_metrics(resumed) if "train/loss" in m] == [1, 2, 3]


@pytest.mark.parametrize("name", ["realnvp_digits", "glow_digits", "glow_mnist"])
def test_image_configs_train_evaluate_and_sample(name, tmp_path, data_cache):
    data = {}
    if name == "glow_mnist":
        data = {"data_dir": str(shared_data("mnist")), "split": "test[:16]"}
        data["eval_split"] = "test[-8:]"
    config = tiny(name, data_cache, 2, **data)
    result = loop.train(config, tmp_path, recipe_of(config))
    dims = 28 * 28 if name == "glow_mnist" else 64
    bpd = result.last_metrics["eval/bpd"]
    assert bpd == pytest.approx(result.last_metrics["eval/nll_nats"] / (dims * np.log(2)))
    # An untrained flow is no better than uniform noise over the levels, and still finite.
    assert np.log2(17 if dims == 64 else 256) - 0.5 < bpd < 30
    assert (tmp_path / "samples" / "temperatures_0000002.png").exists()
    assert loop.sample(config, tmp_path, recipe_of(config)).exists()


@pytest.mark.parametrize(
    "name, model",
    [
        ("realnvp_digits", {"dequantization": "variational", "dequantizer_hidden": 4}),
        ("maf_digits", {"class_conditional": True}),
    ],
)
def test_variational_dequantization_and_class_conditional_flows_run(name, model, tmp_path,
                                                                      data_cache):  # fmt: skip
    config = tiny(name, data_cache, 2)
    config = dataclasses.replace(config, model={**config.model, **model})
    result = loop.train(config, tmp_path, recipe_of(config))
    bpd = result.last_metrics["eval/bpd"]
    # Two steps: about uniform over the 17 levels (MAF's ActNorm, set from the data, already
    # does better), far from the digits' ~2 bits/dim, and finite.
    assert 3.0 < bpd < np.log2(17) + 0.5
    _, state, _ = loop.load_latest(config, tmp_path, recipe_of(config))
    if model.get("dequantization") == "variational":
        assert set(state.model.params) == {"flow", "dequantizer"}
    assert loop.sample(config, tmp_path, recipe_of(config)).exists()


def test_flow_config_errors_name_the_field(data_cache):
    config = tiny("glow_digits", data_cache, 1)
    bad = dataclasses.replace(config, model={**config.model, "num_scales": 4})
    with pytest.raises(ValueError, match="divisible by 16"):
        loop.train(bad, "/tmp/never_written", recipe_of(bad))
    bad = dataclasses.replace(config, model={**config.model, "preprocessing": "tanh"})
    with pytest.raises(ValueError, match="preprocessing must be one of"):
        loop.train(bad, "/tmp/never_written", recipe_of(bad))
    bad = dataclasses.replace(config, model={**config.model, "dequantization": "gaussian"})
    with pytest.raises(ValueError, match="dequantization must be one of"):
        loop.train(bad, "/tmp/never_written", recipe_of(bad))
