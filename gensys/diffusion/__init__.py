"""Diffusion models: schedules, the forward process, posteriors, losses and samplers."""

from gensys.diffusion.losses import eps_prediction_loss, sample_timesteps
from gensys.diffusion.process import (
    extract,
    predict_eps_from_x0,
    predict_x0_from_eps,
    q_mean_variance,
    q_posterior,
    q_sample,
    q_step_sample,
)
from gensys.diffusion.samplers import (
    ddim_decode,
    ddim_invert,
    ddim_sample,
    ddim_step,
    ddpm_sample,
    ddpm_step,
    per_example_keys,
)
from gensys.diffusion.schedules import (
    NoiseSchedule,
    cosine_betas,
    cosine_schedule,
    linear_betas,
    linear_schedule,
    make_schedule,
    schedule_from_betas,
)
from gensys.diffusion.spacing import SPACINGS, respace, timestep_spacing

__all__ = [
    "SPACINGS",
    "NoiseSchedule",
    "cosine_betas",
    "cosine_schedule",
    "ddim_decode",
    "ddim_invert",
    "ddim_sample",
    "ddim_step",
    "ddpm_sample",
    "ddpm_step",
    "eps_prediction_loss",
    "extract",
    "linear_betas",
    "linear_schedule",
    "make_schedule",
    "per_example_keys",
    "predict_eps_from_x0",
    "predict_x0_from_eps",
    "q_mean_variance",
    "q_posterior",
    "q_sample",
    "q_step_sample",
    "respace",
    "sample_timesteps",
    "schedule_from_betas",
    "timestep_spacing",
]
