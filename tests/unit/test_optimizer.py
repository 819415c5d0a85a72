"""The shared optimizer: warm-up, cosine decay, and its argument checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gensys.recipes.state import make_optimizer


def step_sizes(optimizer, steps):
    """|update| per step for a constant gradient (Adam normalises it to the learning rate)."""
    params = {"w": jnp.zeros(())}
    state = optimizer.init(params)
    sizes = []
    for _ in range(steps):
        updates, state = optimizer.update({"w": jnp.ones(())}, state, params)
        sizes.append(abs(float(updates["w"])))
    return np.array(sizes)


def test_cosine_decay_after_warm_up_ends_at_one_percent():
    sizes = step_sizes(
        make_optimizer(1e-2, warmup_steps=4, decay_steps=20, grad_clip_norm=None), 30
    )
    np.testing.assert_allclose(sizes[:4], 1e-2 * np.arange(4) / 4, atol=1e-6)
    assert sizes[4] == pytest.approx(1e-2, rel=1e-3)
    assert np.all(np.diff(sizes[4:21]) < 0)  # falls all the way
    np.testing.assert_allclose(sizes[20:], 1e-4, rtol=1e-3)  # then stays at 1 %
    constant = step_sizes(make_optimizer(1e-2, grad_clip_norm=None), 5)
    np.testing.assert_allclose(constant, 1e-2, rtol=1e-3)
    with pytest.raises(ValueError, match="decay_steps must exceed warmup_steps"):
        make_optimizer(1e-2, warmup_steps=10, decay_steps=10)


def test_adagrad_divides_by_the_root_of_the_summed_squares():
    # A constant unit gradient: the n-th step is lr / sqrt(n).
    sizes = step_sizes(make_optimizer(1e-2, grad_clip_norm=None, name="adagrad"), 4)
    np.testing.assert_allclose(sizes, 1e-2 / np.sqrt(np.arange(1, 5)), rtol=1e-5)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer(1e-2, name="rmsprop")
    with pytest.raises(ValueError, match="weight_decay is Adam's"):
        make_optimizer(1e-2, name="adagrad", weight_decay=0.1)


def test_l2_penalty_adds_its_gradient_to_weight_matrices_only():
    # With a zero data gradient only the penalty's gradient l2 * W moves anything: the
    # weight matrix shrinks, the bias stays.
    params = {"w": jnp.full((2, 2), 3.0), "b": jnp.full((2,), 3.0)}
    optimizer = make_optimizer(1e-2, grad_clip_norm=None, l2=0.5)
    updates, _ = optimizer.update(jax.tree.map(jnp.zeros_like, params), optimizer.init(params),
                                  params)  # fmt: skip
    assert np.all(np.asarray(updates["w"]) < 0) and np.all(np.asarray(updates["b"]) == 0)
    with pytest.raises(ValueError, match="l2 must be >= 0"):
        make_optimizer(1e-2, l2=-1.0)


def test_sgd_with_momentum_accumulates_the_gradient():
    # A constant unit gradient with momentum 0.5: velocities 1, 1.5, 1.75, ...
    sizes = step_sizes(make_optimizer(1e-2, grad_clip_norm=None, name="sgd", momentum=0.5), 3)
    np.testing.assert_allclose(sizes, 1e-2 * np.array([1.0, 1.5, 1.75]), rtol=1e-5)
    with pytest.raises(ValueError, match="momentum must be in \\[0, 1\\) and is SGD's"):
        make_optimizer(1e-2, momentum=0.9)  # Adam has no such momentum
    with pytest.raises(ValueError, match="weight_decay is Adam's"):
        make_optimizer(1e-2, name="sgd", weight_decay=0.1)
