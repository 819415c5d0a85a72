"""Connectivity masks that make a network autoregressive.

- MADE (Germain et al. 2015, Sec. 4): each input ``d`` has degree ``m^0(d)``, its
  position (1..D) in an ordering; each hidden unit ``k`` of layer ``l`` a degree
  ``m^l(k)`` drawn from ``{min m^{l-1}, ..., D - 1}``. Hidden weights are kept where
  ``m^l(k) >= m^{l-1}(k')`` (eq. 12), output weights where ``m^0(d) > m^L(k)`` (eq. 13), so
  output ``d`` depends only on the inputs before it in the ordering. Several mask sets
  (orderings and connectivities) train one network order- and connectivity-agnostically
  (Sec. 4.2); :func:`made_masks` draws them reproducibly from a seed. The direct
  input-to-output connection (the paper's code, ``direct_input_connect``) is masked by
  :func:`direct_masks`: input ``j`` reaches output ``d`` iff ``m^0(j) < m^0(d)``.
- Masked convolutions (van den Oord et al. 2016, "Pixel Recurrent Neural Networks",
  Sec. 3.4): in raster order a kernel may see the rows above its centre and the
  pixels left of it on the centre row; type ``"A"`` (the first layer) excludes the
  centre, type ``"B"`` (later layers, whose centre already summarises the past)
  includes it. Colour images (their Sec. 3.4, Fig. 4) split every layer's features into
  ``C`` channel groups, feature ``k`` in group ``k mod C`` (image channel ``c`` in group
  ``c``): at the centre tap, output group ``g`` sees input group ``g'`` iff ``g' < g``
  (type A) or ``g' <= g`` (type B), so R sees only the context, G the context and R, B
  the context, R and G. Off the centre every group sees every group. One channel is
  one group, and the masks reduce to the spatial ones.
"""

from __future__ import annotations

import functools

import numpy as np

MASK_TYPES = ("A", "B")


@functools.lru_cache(maxsize=32)
def made_masks(
    num_inputs: int,
    hidden: tuple[int, ...],
    num_masks: int = 1,
    *,
    order_agnostic: bool = False,
    seed: int = 0,
) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """``num_masks`` MADE mask sets for a ``num_inputs`` -> ``hidden`` -> ``num_inputs`` MLP.

    Returns ``(orders, masks)``: ``orders [K, D]`` lists the input indices in the order
    each set models them (set 0 is always the natural order ``0..D-1``; with
    ``order_agnostic`` the others are random permutations), and ``masks`` one float32
    array ``[K, fan_in, fan_out]`` per layer (``len(hidden) + 1`` layers) to multiply
    the kernels with. Every set draws its own hidden degrees (connectivity-agnostic
    training whenever ``num_masks > 1``).
    """
    if num_inputs < 2:
        raise ValueError(f"num_inputs must be >= 2, got {num_inputs}")
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden must list one or more positive widths, got {hidden}")
    if num_masks < 1:
        raise ValueError(f"num_masks must be >= 1, got {num_masks}")
    rng = np.random.default_rng(seed)
    orders, per_layer = [], [[] for _ in range(len(hidden) + 1)]
    for k in range(num_masks):
        order = rng.permutation(num_inputs) if order_agnostic and k > 0 else np.arange(num_inputs)
        input_degrees = np.empty(num_inputs, np.int64)
        input_degrees[order] = np.arange(1, num_inputs + 1)
        degrees = [input_degrees]
        for width in hidden:
            low = min(int(degrees[-1].min()), num_inputs - 1)
            degrees.append(rng.integers(low, num_inputs, size=width))
        for layer in range(len(hidden)):
            kept = degrees[layer + 1][None, :] >= degrees[layer][:, None]
            per_layer[layer].append(kept)
        per_layer[-1].append(input_degrees[None, :] > degrees[-1][:, None])
        orders.append(order)
    masks = tuple(np.stack(m).astype(np.float32) for m in per_layer)
    return np.stack(orders), masks


def direct_masks(orders: np.ndarray) -> np.ndarray:
    """``[K, D, D]`` float32 masks of a direct input-to-output layer, one per ordering in
    ``orders [K, D]``: entry ``[k, j, d]`` is 1 iff input ``j`` comes before ``d`` in
    ordering ``k`` (a fully visible sigmoid belief network inside MADE)."""
    orders = np.asarray(orders)
    if orders.ndim != 2:
        raise ValueError(f"orders must be [num_orders, D], got shape {orders.shape}")
    positions = np.argsort(orders, axis=1)  # positions[k, i]: where input i comes in order k
    return (positions[:, :, None] < positions[:, None, :]).astype(np.float32)


def channel_groups(num_features: int, channels: int) -> np.ndarray:
    """The channel group ``k mod channels`` of each of ``num_features`` features.

    Interleaved rather than in blocks, so that splitting ``n * F`` features into ``n``
    equal parts (a gate's filter and gate halves, an LSTM's four gates) keeps every
    feature in its group whenever ``F`` is a multiple of ``channels``."""
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    return np.arange(num_features) % channels


def channel_mask(num_in: int, num_out: int, channels: int, mask_type: str) -> np.ndarray:
    """``[num_in, num_out]`` 0/1: input feature ``i`` may reach output ``o`` at the same
    pixel iff its group is before ``o``'s (type ``"A"``) or not after it (``"B"``)."""
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}")
    group_in = channel_groups(num_in, channels)[:, None]
    group_out = channel_groups(num_out, channels)[None, :]
    allowed = group_in < group_out if mask_type == "A" else group_in <= group_out
    return allowed.astype(np.float32)


def raster_kernel_mask(
    kernel_shape: tuple[int, int],
    mask_type: str,
    num_in: int = 1,
    num_out: int = 1,
    channels: int = 1,
) -> np.ndarray:
    """A ``[kh, kw, num_in, num_out]`` 0/1 mask: every feature at the rows above the centre
    and at the centre row left of it; at the centre, :func:`channel_mask` (for one channel:
    nothing for type ``"A"``, everything for ``"B"``)."""
    if mask_type not in MASK_TYPES:
        raise ValueError(f"mask_type must be one of {MASK_TYPES}, got {mask_type!r}")
    kh, kw = kernel_shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError(f"masked kernels need odd sides, got {kernel_shape}")
    mask = np.zeros((kh, kw, num_in, num_out), np.float32)
    mask[: kh // 2] = 1.0
    mask[kh // 2, : kw // 2] = 1.0
    mask[kh // 2, kw // 2] = channel_mask(num_in, num_out, channels, mask_type)
    return mask
