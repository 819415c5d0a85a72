"""The floating-point operations of a JAX function's matrix products and convolutions,
counted on its jaxpr: the same number on every backend.

A fraction of an accelerator's peak needs the FLOPs the program asks for. XLA's count on
the compiled program does not give them on a GPU, where the convolutions and products go
to cuDNN and cuBLAS and are left out: for the ``ddpm_cifar10`` training step at batch 128,
XLA:GPU's compiled program counted 324 GFLOP (bfloat16) and 168 GFLOP (float32) on an
H200 (JAX 0.11.2, whose lowered program there gave no count at all), against 4,484 GFLOP
by XLA:CPU's analysis of the lowered program. Only ``dot_general`` and ``conv_general_dilated`` are
counted (2 FLOPs a multiply-add), which is what a matrix unit's peak applies to; element-
wise work is left out, and so are multiply-adds with padding and dead code (XLA's cost
analysis counts the same way, and agrees within 1 % on the UNet's step: tested). Loops
are counted by their trip count (``scan``; a ``while`` loop, whose count is not known
before it runs, is refused rather than guessed).
"""

from __future__ import annotations

import math

import jax
from jax._src.interpreters import partial_eval  # dead-code elimination, as jit does
from jax.extend import core as jex_core

_NESTED_FACTOR_PRIMITIVES = ("scan",)


def _dot_flops(eqn) -> int:
    """2 x output elements x the contracted length."""
    lhs = eqn.invars[0].aval.shape
    (lhs_contract, _), _ = eqn.params["dimension_numbers"]
    out = math.prod(eqn.outvars[0].aval.shape)
    return 2 * out * math.prod(lhs[d] for d in lhs_contract)


def _valid_taps(size: int, out: int, window: int, stride: int, pad_lo: int,
                lhs_dilation: int, rhs_dilation: int) -> int:  # fmt: skip
    """(output position, kernel tap) pairs of one spatial axis that land on an input
    element rather than on padding or a dilation hole."""
    last = (size - 1) * lhs_dilation
    count = 0
    for o in range(out):
        for k in range(window):
            p = o * stride + k * rhs_dilation - pad_lo
            count += 0 <= p <= last and p % lhs_dilation == 0
    return count


def _conv_flops(eqn) -> int:
    """2 x the multiply-adds that touch an input element (padding is not arithmetic: the
    count XLA's cost analysis gives): output batch x output features x input features a
    group x the valid (position, tap) pairs of each spatial axis."""
    lhs = eqn.invars[0].aval.shape
    rhs = eqn.invars[1].aval.shape
    out = eqn.outvars[0].aval.shape
    params = eqn.params
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    total = 2 * out[out_spec[0]] * out[out_spec[1]] * rhs[rhs_spec[1]]
    lhs_dilation = params["lhs_dilation"] or (1,) * len(lhs_spec[2:])
    rhs_dilation = params["rhs_dilation"] or (1,) * len(lhs_spec[2:])
    for axis in range(len(lhs_spec) - 2):
        total *= _valid_taps(
            lhs[lhs_spec[2 + axis]], out[out_spec[2 + axis]], rhs[rhs_spec[2 + axis]],
            params["window_strides"][axis], params["padding"][axis][0],
            lhs_dilation[axis], rhs_dilation[axis],
        )  # fmt: skip
    return total


def _sub_jaxprs(eqn):
    params = eqn.params
    if "call_jaxpr" in params:  # custom_vjp/jvp calls: the rules beside it are not run
        params = {"call_jaxpr": params["call_jaxpr"]}
    for value in params.values():
        for item in value if isinstance(value, (tuple, list)) else (value,):
            if isinstance(item, jex_core.ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, jex_core.Jaxpr):
                yield item


def jaxpr_matrix_flops(jaxpr) -> int:
    """FLOPs of the products and convolutions in ``jaxpr`` and every jaxpr nested in it."""
    total = 0
    for eqn in jaxpr.eqns:
        name = eqn.primitive.name
        if name == "dot_general":
            total += _dot_flops(eqn)
        elif name == "conv_general_dilated":
            total += _conv_flops(eqn)
        elif name == "while":
            inner = sum(jaxpr_matrix_flops(j) for j in _sub_jaxprs(eqn))
            if inner:
                raise ValueError(
                    "a while loop holds matrix products: its trip count is not known "
                    "before it runs, so its FLOPs cannot be counted"
                )
        elif name == "cond":
            # The most expensive branch: an upper bound of what one call runs.
            total += max((jaxpr_matrix_flops(j) for j in _sub_jaxprs(eqn)), default=0)
        else:
            inner = sum(jaxpr_matrix_flops(j) for j in _sub_jaxprs(eqn))
            total += inner * (eqn.params["length"] if name in _NESTED_FACTOR_PRIMITIVES else 1)
    return total


def matrix_flops(fn, *args, **kwargs) -> int:
    """FLOPs of ``fn(*args, **kwargs)``'s products and convolutions (traced, not run)."""
    jaxpr = jax.make_jaxpr(fn)(*args, **kwargs).jaxpr
    # A custom gradient that calls jax.vjp traces a primal nobody uses; XLA drops it.
    live, _ = partial_eval.dce_jaxpr(jaxpr, [True] * len(jaxpr.outvars))
    return jaxpr_matrix_flops(live)
