"""Timestep subsequences for sampling with fewer steps than the model was trained on.

Spacings for ``n`` of ``T`` steps, in sampling (descending) order, each with the
library or paper whose convention it is (named as by Lin et al. 2024, "Common Diffusion
Noise Schedules and Sample Steps are Flawed", Table 2, where they have a name):

- ``leading``:  ``(T // n) * [n - 1, ..., 1, 0] + steps_offset``   (10 of 1000: 900, ..., 0):
  DDIM's code (Song et al. 2021) and diffusers' ``timestep_spacing="leading"`` (Stable
  Diffusion's scheduler configs add ``steps_offset=1``: 901, ..., 1);
- ``trailing``: ``round(T - i * T / n) - 1`` for ``i = 0..n-1``  (999, 899, ..., 99):
  Lin et al.'s fix, diffusers' ``"trailing"``;
- ``linspace``: ``round(linspace(0, T - 1, n))`` reversed       (999, 888, ..., 111, 0):
  n points from ``T - 1`` to 0 inclusive (the PNDM / Euler-style ``"linspace"`` with the
  fractional points rounded; its last model call is at ``t = 0``);
- ``linspace_skip_zero``: ``round(linspace(0, T - 1, n + 1))`` reversed without its last
  point (999, 899, ..., 100): the ``"linspace"`` of diffusers' multistep schedulers
  (``DPMSolverMultistepScheduler`` and its kin), whose final step goes from ``t = 100``
  straight to the clean sample (their ``final_sigmas_type="zero"``); gensys's default for
  DPM-Solver++.

:func:`respace` turns a schedule and a subsequence into the schedule of the
shorter chain (Nichol & Dhariwal 2021, section 4): ``alpha_bar`` is kept at the
chosen steps and ``beta_i = 1 - alpha_bar_{t_i} / alpha_bar_{t_{i-1}}``, so
the DDPM posterior of the short chain is exact for its own steps.
"""

from __future__ import annotations

import numpy as np

from gensys.diffusion.schedules import NoiseSchedule, schedule_from_betas

SPACINGS = ("leading", "trailing", "linspace", "linspace_skip_zero")


def timestep_spacing(
    num_train_steps: int, num_steps: int, kind: str = "leading", *, steps_offset: int = 0
) -> np.ndarray:
    """``num_steps`` distinct training timesteps in descending order, int32.

    ``steps_offset`` is added to the ``leading`` spacing (as diffusers adds its
    ``steps_offset``; Stable Diffusion's configs use 1) and must be 0 for the others.

    Raises:
        ValueError: unknown ``kind``, ``num_steps`` outside ``[1, num_train_steps]``, or an
            offset that is not for this spacing or leaves the training steps.
    """
    if kind not in SPACINGS:
        raise ValueError(f"kind must be one of {SPACINGS}, got {kind!r}")
    if not 1 <= num_steps <= num_train_steps:
        raise ValueError(f"num_steps must be in [1, {num_train_steps}], got {num_steps}")
    if steps_offset and kind != "leading":
        raise ValueError(f"steps_offset applies to the leading spacing only, not {kind!r}")
    if kind == "leading":
        steps = np.arange(num_steps) * (num_train_steps // num_steps) + steps_offset
    elif kind == "trailing":
        steps = np.round(np.arange(num_train_steps, 0, -num_train_steps / num_steps)) - 1
    elif kind == "linspace":
        steps = np.round(np.linspace(0, num_train_steps - 1, num_steps))
    else:
        steps = np.round(np.linspace(0, num_train_steps - 1, num_steps + 1))[1:]
    steps = np.unique(steps.astype(np.int64))[::-1]
    if steps.size != num_steps:
        raise ValueError(f"{kind} spacing of {num_steps} of {num_train_steps} steps repeats a step")
    if steps_offset and not 0 <= steps[-1] <= steps[0] < num_train_steps:
        raise ValueError(
            f"steps_offset {steps_offset} moves the leading spacing to {steps[0]}, beyond the "
            f"{num_train_steps} training steps"
        )
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
