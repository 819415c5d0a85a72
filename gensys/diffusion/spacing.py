"""Timestep subsequences for sampling with fewer steps than the model was trained on.

Spacings (as named by Lin et al. 2024, "Common Diffusion Noise Schedules and
Sample Steps are Flawed", Table 2), for ``n`` of ``T`` steps, in sampling
(descending) order:

- ``leading``:  ``(T // n) * [n - 1, ..., 1, 0]``               (10 of 1000: 900, 800, ..., 0)
- ``trailing``: ``round(T - i * T / n) - 1`` for ``i = 0..n-1``  (999, 899, ..., 99)
- ``linspace``: ``round(linspace(0, T - 1, n))`` reversed       (999, 888, ..., 111, 0)

:func:`respace` turns a schedule and a subsequence into the schedule of the
shorter chain (Nichol & Dhariwal 2021, section 4): ``alpha_bar`` is kept at the
chosen steps and ``beta_i = 1 - alpha_bar_{t_i} / alpha_bar_{t_{i-1}}``, so
the DDPM posterior of the short chain is exact for its own steps.
"""

from __future__ import annotations

import numpy as np

from gensys.diffusion.schedules import NoiseSchedule, schedule_from_betas

SPACINGS = ("leading", "trailing", "linspace")


def timestep_spacing(num_train_steps: int, num_steps: int, kind: str = "leading") -> np.ndarray:
    """``num_steps`` distinct training timesteps in descending order, int32.

    Raises:
        ValueError: unknown ``kind`` or ``num_steps`` outside ``[1, num_train_steps]``.
    """
    if kind not in SPACINGS:
        raise ValueError(f"kind must be one of {SPACINGS}, got {kind!r}")
    if not 1 <= num_steps <= num_train_steps:
        raise ValueError(f"num_steps must be in [1, {num_train_steps}], got {num_steps}")
    if kind == "leading":
        steps = np.arange(num_steps) * (num_train_steps // num_steps)
    elif kind == "trailing":
        steps = np.round(np.arange(num_train_steps, 0, -num_train_steps / num_steps)) - 1
    else:
        steps = np.round(np.linspace(0, num_train_steps - 1, num_steps))
    steps = np.unique(steps.astype(np.int64))[::-1]
    if steps.size != num_steps:
        raise ValueError(f"{kind} spacing of {num_steps} of {num_train_steps} steps repeats a step")
    return steps.astype(np.int32)


def checked_steps(timesteps: np.ndarray, num_timesteps: int) -> np.ndarray:
    """``timesteps`` sorted ascending (int64); ``ValueError`` unless distinct and in range."""
    steps = np.sort(np.asarray(timesteps, dtype=np.int64))
    if steps.size == 0 or np.unique(steps).size != steps.size:
        raise ValueError("timesteps must be a non-empty set of distinct steps")
    if steps[0] < 0 or steps[-1] >= num_timesteps:
        raise ValueError(
            f"timesteps must be in [0, {num_timesteps}), got min {steps[0]} and max {steps[-1]}"
        )
    return steps


def respace(schedule: NoiseSchedule, timesteps: np.ndarray) -> NoiseSchedule:
    """The schedule of the chain that visits only ``timesteps`` (any order, distinct).

    Step ``i`` of the returned schedule corresponds to training step
    ``sorted(timesteps)[i]``; a model trained on the full chain must be called
    with that original timestep (see :func:`gensys.diffusion.ddpm_ddim.ddpm_sample`'s
    ``timesteps`` argument).
    """
    steps = checked_steps(timesteps, schedule.num_timesteps)
    # The products are taken in float64 (from the stored float32 betas).
    alpha_bars = np.cumprod(1.0 - np.asarray(schedule.betas, dtype=np.float64))[steps]
    previous = np.append(1.0, alpha_bars[:-1])
    return schedule_from_betas(1.0 - alpha_bars / previous)
