"""Orchestration: the recipe contract, the one loop, checkpoints, metrics and sharding."""

from gensys.train.checkpointing import (
    Checkpointer,
    CheckpointMismatchError,
    CheckpointUnreadableError,
    CheckpointWriteError,
)
from gensys.train.config import DataConfig, EvalConfig, ExperimentConfig, TrainConfig, from_mapping
from gensys.train.engine import Engine, LoopState
from gensys.train.loop import NonFiniteError, TrainResult, evaluate, sample, train
from gensys.train.recipe import Recipe
from gensys.train.state import TrainState, ema_update, make_optimizer, masked_mean

__all__ = [
    "CheckpointMismatchError",
    "CheckpointUnreadableError",
    "CheckpointWriteError",
    "Checkpointer",
    "DataConfig",
    "Engine",
    "EvalConfig",
    "ExperimentConfig",
    "LoopState",
    "NonFiniteError",
    "Recipe",
    "TrainConfig",
    "TrainResult",
    "TrainState",
    "ema_update",
    "evaluate",
    "from_mapping",
    "make_optimizer",
    "masked_mean",
    "sample",
    "train",
]
