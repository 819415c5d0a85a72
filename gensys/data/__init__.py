"""Datasets as in-memory NHWC splits and deterministic, resumable batches."""

from gensys.data.batches import (
    BatchIterator,
    eval_batches,
    from_model_output,
    make_batch,
    to_model_input,
)
from gensys.data.datasets import (
    DATASETS,
    ArraySplit,
    DatasetNotAvailableError,
    DatasetSpec,
    get_spec,
    load_split,
    prepare_dataset,
)
from gensys.data.local_files import read_amat, read_idx

__all__ = [
    "DATASETS",
    "ArraySplit",
    "BatchIterator",
    "DatasetNotAvailableError",
    "DatasetSpec",
    "eval_batches",
    "from_model_output",
    "get_spec",
    "load_split",
    "make_batch",
    "prepare_dataset",
    "read_amat",
    "read_idx",
    "to_model_input",
]
