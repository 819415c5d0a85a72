"""Reference sampling trajectories from PyTorch diffusers' schedulers, for gensys's parity test.

    make .venv-peer/.installed        # diffusers and torch, benchmarks/requirements-peer.txt
    .venv-peer/bin/python benchmarks/diffusers_reference.py   # writes the .npz below

Runs in the peer environment only (it imports torch and diffusers, never gensys) and writes
``tests/unit/data/diffusers_reference.npz``, which ``tests/unit/test_diffusers_parity.py``
compares gensys with. Everything is float64, so the test can hold gensys to 1e-10 under
``jax_enable_x64`` and to float32 rounding without it. diffusers' schedulers cast their
betas, sigmas and samples to float32 in many places (``dtype=torch.float32``,
``.astype(np.float32)``); the scheduler modules are run here with ``torch.float32`` and
``np.float32`` read as float64 (:func:`in_float64`), so their own code computes every
step in float64.

The model is analytic, so both sides compute exactly the same function: for data
``x0 ~ N(mu, s^2 I)`` the optimal noise prediction at ``x_t = alpha x0 + sigma eps`` is

    eps*(x_t, t) = sigma (x_t - alpha mu) / (alpha^2 s^2 + sigma^2),
    alpha^2 = alpha_bar_t, sigma^2 = 1 - alpha_bar_t,

with ``mu = 0.5`` and ``s = 1``, so that ``x0_hat`` leaves [-1, 1] and clipping matters.
In the variance-exploding units of Euler and Heun (``x_ve = x_vp / alpha``, input scaled by
diffusers' ``scale_model_input``) the same function is called at the same ``x_vp``.

Cases (1,000 training steps, diffusers' linear betas 1e-4 .. 0.02 unless named): the three
beta schedules' ``alphas_cumprod``; the spacings of ``DDIMScheduler`` and
``DPMSolverMultistepScheduler``; and the final samples (and every intermediate one) of DDPM
(fixed-small, fixed-large), DDIM (eta 0 and 1, with and without clipping and its
``use_clipped_model_output``, ``set_alpha_to_one`` false with ``steps_offset`` 1),
DPM-Solver++ 2M and 3M, Euler and Heun, each from the same start and, for the stochastic
ones, the same per-step noise, both stored.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

import numpy as np
import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
)

MU, S = 0.5, 1.0
SHAPE = (4, 6)  # batch of 4, 6 dimensions
OUT = Path(__file__).resolve().parents[1] / "tests" / "unit" / "data" / "diffusers_reference.npz"
BASE = {
    "num_train_timesteps": 1000,
    "beta_start": 1e-4,
    "beta_end": 0.02,
    "beta_schedule": "linear",
}


class _Float64(types.ModuleType):
    """A stand-in for ``torch`` or ``numpy`` inside a scheduler module: every attribute is the
    real module's, except that ``float32`` is ``float64``."""

    def __init__(self, module):
        super().__init__(module.__name__)
        self._module = module

    def __getattr__(self, name):
        return getattr(self._module, "float64" if name == "float32" else name)


def in_float64() -> None:
    """Makes every diffusers scheduler module compute in float64 (module docstring)."""
    for name, module in list(sys.modules.items()):
        if name.startswith("diffusers.schedulers.scheduling_"):
            for attribute, real in (("torch", torch), ("np", np)):
                if getattr(module, attribute, None) is real:
                    setattr(module, attribute, _Float64(real))


def eps_model(alphas_cumprod: torch.Tensor):
    """The analytic eps prediction of the module docstring at integer timesteps."""

    def model(x_vp: torch.Tensor, t: int) -> torch.Tensor:
        ab = alphas_cumprod[int(t)]
        return (1 - ab).sqrt() * (x_vp - ab.sqrt() * MU) / (ab * S**2 + (1 - ab))

    return model


def run_vp(scheduler, num_steps: int, x_start, noises, **step_kwargs):
    """A DDPM / DDIM / DPM-Solver++ loop: x is the variance-preserving state throughout."""
    scheduler.set_timesteps(num_steps)
    model = eps_model(scheduler.alphas_cumprod)
    x, path = x_start.clone(), []
    for i, t in enumerate(scheduler.timesteps):
        kwargs = dict(step_kwargs)
        if noises is not None:
            kwargs["variance_noise"] = noises[i]
        if isinstance(scheduler, DDPMScheduler):  # takes its noise from a generator only
            kwargs.pop("variance_noise", None)
        x = scheduler.step(model(x, t), t, x, **kwargs).prev_sample
        path.append(x.clone())
    return scheduler.timesteps.numpy().astype(np.float64), torch.stack(path).numpy()


def run_ddpm(scheduler, x_start, noises):
    """DDPMScheduler over all 1,000 steps with the given noise at each (its step draws noise
    from a generator, so the noise is added here exactly as its step would)."""
    scheduler.set_timesteps(scheduler.config.num_train_timesteps)
    model = eps_model(scheduler.alphas_cumprod)
    x = x_start.clone()
    for i, t in enumerate(scheduler.timesteps):
        out = scheduler.step(model(x, t), t, x, generator=torch.Generator().manual_seed(0))
        mean = out.prev_sample
        if t > 0:  # remove the scheduler's own draw, add ours with its standard deviation
            variance = scheduler._get_variance(t)
            if scheduler.config.variance_type == "fixed_small":
                std = variance.clamp(min=1e-20).sqrt()
            else:
                std = variance.sqrt()
            drawn = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
            mean = mean - std * drawn + std * noises[i]
        x = mean
    return x.numpy()


def run_ve(scheduler, num_steps: int, x_start_vp):
    """Euler / Heun in diffusers' variance-exploding units; the model sees ``x_vp``."""
    scheduler.set_timesteps(num_steps)
    ab = scheduler.alphas_cumprod
    model = eps_model(ab)
    # The same state as x_start_vp at the first timestep: x_ve = x_vp / alpha.
    x = x_start_vp / ab[int(scheduler.timesteps[0])].sqrt()
    for t in scheduler.timesteps:
        x_in = scheduler.scale_model_input(x, t)  # = x_ve / sqrt(sigma^2 + 1) = x_vp
        x = scheduler.step(model(x_in, t), t, x).prev_sample
    return scheduler.timesteps.numpy().astype(np.float64), x.numpy()


def main() -> None:
    torch.set_default_dtype(torch.float64)
    in_float64()
    rng = np.random.default_rng(0)
    x_start = torch.from_numpy(rng.standard_normal(SHAPE))
    ref: dict[str, np.ndarray] = {"x_start": x_start.numpy(), "mu": np.array(MU), "s": np.array(S)}
    for schedule in ("linear", "scaled_linear", "squaredcos_cap_v2"):
        config = {**BASE, "beta_schedule": schedule}
        if schedule == "scaled_linear":  # Stable Diffusion's
            config.update(beta_start=0.00085, beta_end=0.012)
        alphas_cumprod = DDIMScheduler(**config).alphas_cumprod
        assert alphas_cumprod.dtype == torch.float64, alphas_cumprod.dtype
        ref[f"alphas_cumprod/{schedule}"] = alphas_cumprod.numpy()

    for n in (10, 20, 50):
        for spacing in ("leading", "trailing", "linspace"):
            s = DDIMScheduler(**BASE, timestep_spacing=spacing)
            s.set_timesteps(n)
            ref[f"spacing/ddim/{spacing}/{n}"] = s.timesteps.numpy()
        s = DDIMScheduler(**BASE, timestep_spacing="leading", steps_offset=1)
        s.set_timesteps(n)
        ref[f"spacing/ddim/leading_offset1/{n}"] = s.timesteps.numpy()
        s = DPMSolverMultistepScheduler(**BASE)  # its default: "linspace"
        s.set_timesteps(n)
        ref[f"spacing/dpmsolver/linspace/{n}"] = s.timesteps.numpy()

    n = 10
    noises = torch.from_numpy(rng.standard_normal((1000, *SHAPE)))
    ref["noises"] = noises.numpy()
    ddim = {"set_alpha_to_one": True, "steps_offset": 0, "timestep_spacing": "leading"}
    # Clipping: with Stable Diffusion's ending at alpha_bar_0 (not the data), the last step
    # keeps eps, so the raw and the clipped one give different samples.
    sd = {"set_alpha_to_one": False, "steps_offset": 1, "timestep_spacing": "leading"}
    cases = {
        "ddim_eta0": (DDIMScheduler(**BASE, **ddim, clip_sample=False), {"eta": 0.0}),
        "ddim_eta1": (DDIMScheduler(**BASE, **ddim, clip_sample=False), {"eta": 1.0}),
        "ddim_clip_raw_eps": (DDIMScheduler(**BASE, **sd, clip_sample=True), {"eta": 0.0}),
        "ddim_clip_clipped_eps": (
            DDIMScheduler(**BASE, **sd, clip_sample=True),
            {"eta": 0.0, "use_clipped_model_output": True},
        ),
        "ddim_sd": (  # Stable Diffusion's settings
            DDIMScheduler(
                **BASE,
                timestep_spacing="leading",
                steps_offset=1,
                set_alpha_to_one=False,
                clip_sample=False,
            ),
            {"eta": 0.0},
        ),  # fmt: skip
        "dpmpp_2m": (DPMSolverMultistepScheduler(**BASE, solver_order=2), {}),
        "dpmpp_3m": (DPMSolverMultistepScheduler(**BASE, solver_order=3), {}),
    }
    for name, (scheduler, kwargs) in cases.items():
        stochastic = kwargs.get("eta", 0.0) > 0
        timesteps, path = run_vp(scheduler, n, x_start, noises if stochastic else None, **kwargs)
        ref[f"{name}/timesteps"], ref[f"{name}/path"] = timesteps, path
    for variance in ("fixed_small", "fixed_large"):
        scheduler = DDPMScheduler(**BASE, variance_type=variance, clip_sample=False)
        ref[f"ddpm_{variance}/final"] = run_ddpm(scheduler, x_start, noises)
    for name, cls in (("euler", EulerDiscreteScheduler), ("heun", HeunDiscreteScheduler)):
        scheduler = cls(**BASE, timestep_spacing="trailing")
        ref[f"{name}/timesteps"], ref[f"{name}/final"] = run_ve(scheduler, n, x_start)

    ref["versions"] = np.array(
        f"torch {torch.__version__}, diffusers {sys.modules['diffusers'].__version__}"
    )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **ref)
    print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes, {len(ref)} arrays)")


if __name__ == "__main__":
    main()
