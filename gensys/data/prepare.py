"""Prepares a dataset ahead of time (on a machine that can reach its source).

    python -m gensys.data.prepare mnist --data_dir=~/tensorflow_datasets
    python -m gensys.data.prepare binarized_mnist --data_dir=/path/to/amat/files

Catalogue datasets are downloaded and written as ArrayRecord under
``--data_dir``; local and builtin ones are prepared into gensys's cache.
Afterwards training reads them offline.
"""

from __future__ import annotations

from absl import app, flags, logging

from gensys.data.datasets import DATASETS, prepare_dataset

_DATA_DIR = flags.DEFINE_string("data_dir", None, "TFDS data dir (catalogue) or file dir (local).")
_CACHE_DIR = flags.DEFINE_string("cache_dir", None, "Where gensys prepares its own builders.")


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise app.UsageError(
            f"usage: python -m gensys.data.prepare NAME, NAME one of {sorted(DATASETS)}"
        )
    builder = prepare_dataset(
        argv[1], data_dir=_DATA_DIR.value, cache_dir=_CACHE_DIR.value, download=True
    )
    for split, info in builder.info.splits.items():
        logging.info(
            "%s: split %s has %d examples in %s",
            argv[1],
            split,
            info.num_examples,
            builder.data_dir,
        )


if __name__ == "__main__":
    app.run(main)
