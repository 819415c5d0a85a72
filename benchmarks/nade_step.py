"""NADE's training step: the running sum as a scan over pixels (gensys) against the same
sum as a cumulative sum over a materialised ``[B, D, H]`` tensor, and as a scan over rows
whose within-row sums are a triangular matrix product (fewer, larger steps).

    python -m benchmarks.nade_step [--batch=100] [--hidden=500]

Times the jitted loss and gradient of :class:`gensys.nets.nade.NADE` on binary 28 x 28
images against a cumulative-sum form of the same network (same parameters, same
outputs to float32 rounding, checked), median of 5 calls after a compiling one, and a
MADE of the same width for scale. Prints milliseconds per step.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from benchmarks.common import median_seconds, start_runtime

_BATCH = flags.DEFINE_integer("batch", 100, "Images a step.")
_HIDDEN = flags.DEFINE_integer("hidden", 500, "Hidden units.")


def cumulative_sum_logits(params, onehot):
    """NADE's logits with the pre-activations of all pixels from ``jnp.cumsum``."""
    p = params["params"]
    x = onehot[..., 1].reshape(onehot.shape[0], -1)  # binary: the pixel value
    contributions = x[:, :, None] * p["w"][None]
    pre = p["c"] + jnp.cumsum(contributions, axis=1) - contributions
    logits = jnp.einsum("bdh,dhl->bdl", jax.nn.sigmoid(pre), p["v"]) + p["b"]
    return logits.reshape(onehot.shape)


def row_blocked_logits(params, onehot):
    """NADE's logits by a scan over image rows: within a row of ``K`` pixels the exclusive
    sums ``sum_{j<i} x_j W_j`` are one ``[K, K]`` strictly lower-triangular product."""
    p = params["params"]
    batch, rows, cols = onehot.shape[:3]
    hidden = p["w"].shape[1]
    x = onehot[..., 1].reshape(batch, rows, cols).transpose(1, 0, 2)  # [rows, B, K]
    w = p["w"].reshape(rows, cols, hidden)
    v = p["v"].reshape(rows, cols, hidden, -1)
    b = p["b"].reshape(rows, cols, -1)
    before = jnp.tril(jnp.ones((cols, cols)), -1)

    def row(pre, inputs):
        x_r, w_r, v_r, b_r = inputs
        a = pre[:, None] + jnp.einsum("ij,bj,jh->bih", before, x_r, w_r)
        logits = jnp.einsum("bkh,khl->bkl", jax.nn.sigmoid(a), v_r) + b_r
        return pre + x_r @ w_r, logits

    start = jnp.broadcast_to(p["c"], (batch, hidden))
    _, logits = jax.lax.scan(row, start, (x, w, v, b))
    return logits.transpose(1, 0, 2, 3).reshape(onehot.shape)


def main(argv):
    del argv
    start_runtime(cpu_devices=1)
    from gensys.distributions import categorical_log_prob
    from gensys.nets.made import MADE
    from gensys.nets.nade import NADE

    shape, batch = (28, 28, 1), _BATCH.value
    levels = jnp.asarray(np.random.default_rng(0).random((batch, *shape)) < 0.2, jnp.int32)
    onehot = jax.nn.one_hot(levels, 2)
    nade = NADE(shape, 2, _HIDDEN.value)
    made = MADE(shape, 2, (_HIDDEN.value,), direct=True)
    forms = {
        "NADE, scan (gensys)": (nade.apply, nade.init(jax.random.key(0), onehot)),
        "NADE, cumulative sum": (cumulative_sum_logits, nade.init(jax.random.key(0), onehot)),
        "NADE, scan over rows": (row_blocked_logits, nade.init(jax.random.key(0), onehot)),
        "MADE + direct, same width": (made.apply, made.init(jax.random.key(0), onehot)),
    }
    outputs = {}
    for name, (apply, params) in forms.items():

        def loss(params, apply=apply):
            return -jnp.mean(categorical_log_prob(levels, apply(params, onehot)))

        step = jax.jit(jax.value_and_grad(loss))
        outputs[name] = step(params)[0]
        seconds = median_seconds(lambda i, step=step, params=params: step(params))
        print(f"{name}: {1000 * seconds:.0f} ms a step (batch {batch}, hidden {_HIDDEN.value})")
    for other in ("NADE, cumulative sum", "NADE, scan over rows"):
        np.testing.assert_allclose(outputs["NADE, scan (gensys)"], outputs[other], rtol=1e-5)


if __name__ == "__main__":
    app.run(main)
