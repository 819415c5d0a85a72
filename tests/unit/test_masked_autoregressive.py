"""MAF and IAF from gensys's MADE: triangular Jacobians, exact inverses, log-dets equal to
autodiff's, and a density that integrates to one, with affine and spline transforms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.flows import (
    AFFINE,
    chain,
    inverse_autoregressive,
    masked_autoregressive,
    num_spline_params,
    reverse_features,
    spline_transform,
)
from gensys.nets.autoregressive_flows import MADEConditioner

D = 5
BINS = 4


def conditioner(num_params, seed=0, dims=D):
    """A MADE conditioner with its zero-initialised head replaced by random weights (at
    initialisation every layer is the identity, which would test nothing)."""
    net = MADEConditioner(hidden=(16, 16), num_params=num_params)
    params = net.init(jax.random.key(seed), jnp.zeros((1, dims)))
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed + 1), len(leaves))
    leaves = [0.4 * jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves, strict=True)]
    params = jax.tree.unflatten(tree, leaves)
    return lambda x: net.apply(params, x)


TRANSFORMS = {"affine": (AFFINE, 2), "spline": (spline_transform(3.0), num_spline_params(BINS))}


@pytest.mark.parametrize("kind", ["maf", "iaf"])
@pytest.mark.parametrize("transform", ["affine", "spline"])
def test_round_trip_log_det_and_triangular_jacobian(kind, transform):
    elementwise, size = TRANSFORMS[transform]
    build = masked_autoregressive if kind == "maf" else inverse_autoregressive
    flow = build(conditioner(size), elementwise)
    z = jax.random.normal(jax.random.key(2), (6, D))
    x, log_det = jax.jit(flow.forward_and_log_det)(z)
    back, inverse_log_det = jax.jit(flow.inverse_and_log_det)(x)
    np.testing.assert_allclose(back, z, atol=1e-4)
    np.testing.assert_allclose(log_det + inverse_log_det, 0.0, atol=1e-4)
    # The conditioned direction's Jacobian is lower triangular; the log-det is its diagonal's.
    one_pass = flow.inverse if kind == "maf" else flow.forward
    point = x[0] if kind == "maf" else z[0]
    jacobian = np.asarray(jax.jit(jax.jacfwd(lambda v: one_pass(v[None])[0]))(point))
    np.testing.assert_allclose(np.triu(jacobian, 1), 0.0, atol=1e-7)
    reported = inverse_log_det[0] if kind == "maf" else log_det[0]
    assert float(reported) == pytest.approx(np.log(np.abs(np.diag(jacobian))).sum(), abs=1e-4)
    assert np.abs(np.diag(jacobian) - 1.0).max() > 0.05  # not the identity


def test_stacked_maf_density_integrates_to_one_in_two_dimensions():
    # Two spline MAF layers with the order reversed between them, on a 2-D grid.
    layers = chain(
        masked_autoregressive(conditioner(num_spline_params(BINS), 0, 2), spline_transform()),
        reverse_features(),
        masked_autoregressive(conditioner(num_spline_params(BINS), 5, 2), spline_transform()),
    )
    axis = jnp.linspace(-8.0, 8.0, 801)
    grid = jnp.stack(jnp.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    z, log_det = jax.jit(layers.inverse_and_log_det)(grid)
    density = jnp.exp(jax.scipy.stats.norm.logpdf(z).sum(-1) + log_det).reshape(801, 801)
    mass = jnp.trapezoid(jnp.trapezoid(density, axis, axis=1), axis)
    assert float(mass) == pytest.approx(1.0, abs=2e-3)


def test_inputs_must_be_vectors():
    flow = masked_autoregressive(conditioner(2), AFFINE)
    with pytest.raises(ValueError, match="x must have rank 2"):
        flow.inverse(jnp.zeros((2, D, 1)))


@pytest.mark.parametrize("transform", ["affine", "spline"])
def test_the_flax_flow_inverts_through_its_detached_sampling_path(transform):
    # Sampling runs the conditioner as a plain function of the layer's parameters inside
    # the loop; it must be the same network as the bound one the density uses.
    from gensys.nets.autoregressive_flows import AutoregressiveFlow

    model = AutoregressiveFlow(transform, num_layers=2, hidden=(16,), num_bins=BINS)
    x = 2.0 * jax.random.normal(jax.random.key(0), (8, 1, 1, 3))
    params = model.init(jax.random.key(1), x, inverse=True)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(2), len(leaves))
    noisy = [
        leaf + 0.3 * jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves, strict=True)
    ]
    params = jax.tree.unflatten(tree, noisy)
    z, log_det = jax.jit(lambda v: model.apply(params, v, inverse=True))(x)
    back, forward_log_det = jax.jit(lambda v: model.apply(params, v, inverse=False))(z)
    np.testing.assert_allclose(back, x, atol=1e-4)
    np.testing.assert_allclose(log_det + forward_log_det, 0.0, atol=1e-4)
    assert np.abs(np.asarray(z - x)).max() > 0.1  # not the identity


def test_a_context_reaches_every_output_and_keeps_the_autoregressive_order():
    # A conditional MADE (a conditional MAF's conditioner): outputs of element d read
    # x_{<d} and the context, never x_{>=d}.
    net = MADEConditioner(hidden=(16, 16), num_params=2)
    x, context = jax.random.normal(jax.random.key(0), (1, D)), jnp.eye(3)[:1]
    params = net.init(jax.random.key(1), x, context)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(2), len(leaves))
    params = jax.tree.unflatten(
        tree, [0.4 * jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves, strict=True)]
    )
    jacobian = jax.jacfwd(lambda v: net.apply(params, v[None], context)[0])(x[0])  # [D, 2, D]
    reads = np.abs(np.asarray(jacobian)).sum(axis=1) > 0  # [output element, input element]
    np.testing.assert_array_equal(reads, np.tril(np.ones((D, D), bool), k=-1))
    other = net.apply(params, x, jnp.eye(3)[1:2])
    assert np.abs(np.asarray(other - net.apply(params, x, context))).min() > 0  # every output


@pytest.mark.parametrize("transform", ["affine", "spline"])
def test_a_conditional_flow_inverts_given_its_context_and_depends_on_it(transform):
    from gensys.nets.autoregressive_flows import AutoregressiveFlow
    from gensys.nets.flows import as_bijector

    model = AutoregressiveFlow(transform, num_layers=2, hidden=(16,), num_bins=BINS)
    x = jax.random.normal(jax.random.key(0), (4, 1, 1, 3))
    context = jax.nn.one_hot(jnp.arange(4) % 3, 3)
    params = model.init(jax.random.key(1), x, inverse=True, context=context)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(2), len(leaves))
    moved = [leaf + 0.3 * jax.random.normal(k, leaf.shape)
             for k, leaf in zip(keys, leaves, strict=True)]  # fmt: skip
    params = jax.tree.unflatten(tree, moved)
    bijector = as_bijector(model, params, context)
    z, log_det = jax.jit(bijector.inverse_and_log_det)(x)
    back, forward_log_det = jax.jit(bijector.forward_and_log_det)(z)
    np.testing.assert_allclose(back, x, atol=1e-4)
    np.testing.assert_allclose(log_det + forward_log_det, 0.0, atol=1e-4)
    for i in range(2):
        single = as_bijector(model, params, context[i : i + 1])
        jac = jax.jacfwd(lambda v, b=single: b.inverse(v.reshape(1, 1, 1, 3)).reshape(-1))
        assert float(jnp.linalg.slogdet(jac(x[i].reshape(-1)))[1]) == pytest.approx(
            float(log_det[i]), rel=1e-4, abs=1e-5
        )
    swapped = as_bijector(model, params, context[::-1]).inverse(x)
    assert np.abs(np.asarray(swapped - z)).max() > 1e-2
