"""The engine: the one loop that runs any :class:`gensys.recipes.Recipe`, its checkpoints,
metrics and sharding."""

from gensys.train.checkpointing import (
    Checkpointer,
    CheckpointMismatchError,
    CheckpointUnreadableError,
    CheckpointWriteError,
)
from gensys.train.clean_checkpoints import NonFiniteError
from gensys.train.config import DataConfig, EvalConfig, ExperimentConfig, TrainConfig
from gensys.train.engine import Engine, LoopState
from gensys.train.loop import TrainResult, evaluate, sample, train

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
    "TrainConfig",
    "TrainResult",
    "evaluate",
    "sample",
    "train",
]
