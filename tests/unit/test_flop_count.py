"""benchmarks.flop_count: the FLOPs of products and convolutions counted on a jaxpr agree
with the closed forms and with XLA:CPU's own cost analysis."""

import jax
import jax.numpy as jnp
import pytest

from benchmarks.flop_count import matrix_flops


def xla_flops(fn, *args) -> float:
    return jax.jit(fn).lower(*args).cost_analysis()["flops"]


def test_a_matrix_product_and_a_batched_one():
    x, w = jnp.ones((8, 16)), jnp.ones((16, 32))
    assert matrix_flops(jnp.matmul, x, w) == 2 * 8 * 16 * 32
    a, b = jnp.ones((3, 5, 7)), jnp.ones((3, 7, 2))
    assert matrix_flops(jnp.matmul, a, b) == 2 * 3 * 5 * 7 * 2


@pytest.mark.parametrize(
    "shape, kernel, stride, padding, lhs_dilation, rhs_dilation, groups",
    [
        ((2, 9, 9, 4), (3, 3, 4, 6), 1, "SAME", 1, 1, 1),
        ((2, 8, 8, 4), (3, 3, 4, 6), 2, "SAME", 1, 1, 1),
        ((1, 7, 5, 3), (4, 2, 3, 5), 1, "VALID", 1, 1, 1),
        ((1, 6, 6, 4), (3, 3, 4, 4), 1, ((2, 1), (0, 3)), 2, 1, 1),  # transposed
        ((2, 10, 10, 4), (3, 3, 2, 6), 1, "SAME", 1, 2, 2),  # dilated, grouped
    ],
)
def test_a_convolution_counts_the_multiply_adds_that_touch_the_input(
    shape, kernel, stride, padding, lhs_dilation, rhs_dilation, groups
):
    def conv(x, k):
        return jax.lax.conv_general_dilated(
            x, k, (stride, stride), padding, (lhs_dilation,) * 2, (rhs_dilation,) * 2,
            ("NHWC", "HWIO", "NHWC"), feature_group_count=groups,
        )  # fmt: skip

    x, k = jnp.ones(shape), jnp.ones(kernel)
    assert matrix_flops(conv, x, k) == xla_flops(conv, x, k)


def test_a_gradient_of_a_convolution_is_three_convolutions():
    x, k = jnp.ones((2, 8, 8, 4)), jnp.ones((3, 3, 4, 6))

    def conv(x, k):
        return jax.lax.conv_general_dilated(x, k, (1, 1), "SAME",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))  # fmt: skip

    forward = matrix_flops(conv, x, k)
    both = matrix_flops(jax.grad(lambda x, k: jnp.sum(conv(x, k) ** 2), (0, 1)), x, k)
    assert both == 3 * forward


def test_a_scan_counts_its_body_once_a_step_and_a_while_loop_is_refused():
    w = jnp.ones((4, 4))

    def scanned(w):
        return jax.lax.scan(lambda h, _: (h @ w, None), jnp.ones(4), None, length=5)[0]

    assert matrix_flops(scanned, w) == 5 * 2 * 4 * 4
    looped = lambda w: jax.lax.while_loop(lambda c: c[1] < 3, lambda c: (c[0] @ w, c[1] + 1),
                                          (jnp.ones(4), 0))  # fmt: skip
    with pytest.raises(ValueError, match="while loop"):
        matrix_flops(looped, w)


def test_a_custom_gradient_is_counted_without_the_primal_it_recomputes():
    """tap_conv's gradient calls jax.vjp, which traces a forward convolution that nothing
    uses: the count is the same as for XLA's own gradient (dead code is not counted)."""
    from gensys.nets import tap_conv

    x, k = jnp.ones((2, 8, 8, 4)), jnp.ones((3, 3, 4, 6))

    def loss(fast):
        return lambda x, k: jnp.sum(tap_conv.conv2d(x, k, fast_cpu_gradients=fast,
                                                    kernel_gradient="xla") ** 2)  # fmt: skip

    plain = matrix_flops(jax.grad(loss(False), (0, 1)), x, k)
    assert matrix_flops(jax.grad(loss(True), (0, 1)), x, k) == plain
