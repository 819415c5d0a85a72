"""Image sides that networks reach by repeated halving or doubling."""

from __future__ import annotations

import math


def doublings(size: int, base: int, at_least: int = 1) -> int | None:
    """``L`` with ``size == base * 2^L`` and ``L >= at_least``, or None when there is none."""
    steps = round(math.log2(max(size, 1) / max(base, 1)))
    if steps < at_least or base * 2**steps != size:
        return None
    return steps
