"""What training, evaluation and sampling set up the same way for one workdir: the
engine, the checkpointers (latest and best), the metric writer, the seed's key streams,
and the evaluation, sample and figure writers they share (:mod:`gensys.train.loop` drives
them)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import jax
import numpy as np
from absl import logging
from tqdm.auto import tqdm

from gensys.data.batches import eval_batches, make_batch
from gensys.data.datasets import ArraySplit, DatasetNotAvailableError, get_spec, load_split
from gensys.eval.grids import save_grid, save_points
from gensys.recipes.recipe import Recipe
from gensys.train import sharding
from gensys.train.checkpointing import Checkpointer
from gensys.train.config import ExperimentConfig
from gensys.train.engine import Engine, LoopState
from gensys.train.metric_writers import MetricWriter
from gensys.train.run_config import check_unchanged

# Independent streams derived from the one seed.
INIT, TRAIN, SAMPLE, EVAL, FIGURES = 0, 1, 2, 3, 4
# Eval examples the figures are made from (8 interpolation pairs).
FIGURE_EXAMPLES = 16


@dataclasses.dataclass
class Run:
    """What train, eval and sample all set up the same way."""

    config: ExperimentConfig
    workdir: Path
    engine: Engine
    checkpointer: Checkpointer
    writer: MetricWriter
    base_key: jax.Array
    is_main: bool
    best_checkpointer: Checkpointer | None = None  # workdir/best, when a best is kept or read

    def key(self, stream: int) -> jax.Array:
        return jax.random.fold_in(self.base_key, stream)

    def data(self, split: str) -> ArraySplit:
        d = self.config.data
        return load_split(d.name, split, data_dir=d.dir, cache_dir=d.cache_dir, download=d.download)

    def fresh_state(self, data: ArraySplit) -> LoopState:
        """A new state, initialised on the first batch of a seeded shuffle of ``data`` (for
        data-dependent init such as ActNorm's)."""
        c, recipe = self.config, self.engine.recipe
        first = np.random.default_rng(c.train.seed).permutation(len(data))[: c.data.batch_size]
        local = make_batch(
            data, first, c.data.batch_size, recipe.representation,
            jax.process_index(), jax.process_count(),
        )  # fmt: skip
        return self.engine.init(self.key(INIT), sharding.shard_batch(local, self.engine.mesh))

    def template_state(self) -> LoopState:
        """An abstract state of this run's shapes to restore a checkpoint into."""
        c = self.config
        return self.engine.state_template(self.key(INIT), get_spec(c.data.name), c.data.batch_size)

    def evaluate(self, state: LoopState, step: int) -> dict[str, float]:
        c = self.config
        sharding.check_batch_size(c.eval.batch_size, self.engine.mesh, "eval.batch_size")
        data = self.data(c.eval.split)
        batches = eval_batches(
            data,
            c.eval.batch_size,
            representation=self.engine.recipe.representation,
            process_index=jax.process_index(),
            process_count=jax.process_count(),
            max_examples=c.eval.max_examples,
        )
        examples = len(data) if c.eval.max_examples is None else min(len(data), c.eval.max_examples)
        batches = tqdm(
            batches,
            total=math.ceil(examples / c.eval.batch_size),
            unit="batch",
            dynamic_ncols=True,
            disable=not (c.train.progress_bar and self.is_main),
            mininterval=1.0,
            desc=f"eval {c.eval.split}",
            leave=False,
        )
        metrics = self.engine.evaluate(state, batches, jax.random.fold_in(self.key(EVAL), step))
        self.writer.write(step, metrics)
        self.writer.flush()
        logging.info("step %d: %s", step, format_metrics(metrics))
        return metrics

    def write_samples(self, state: LoopState, step: int, path: Path | None = None) -> Path:
        # The same key at every step, so grids over training are comparable.
        images = self.engine.sample(state, self.key(SAMPLE), self.config.train.num_samples)
        path = path or self.workdir / "samples" / f"step_{step:07d}.png"
        if self.is_main:
            if images.shape[1:] == (1, 1, 2):  # 2-D points (the toy densities)
                save_points(images, path)
            else:
                save_grid(images, path)
            logging.info("wrote samples to %s", path)
        return path

    def write_figures(self, state: LoopState, step: int) -> list[Path]:
        """The recipe's figures from the first ``FIGURE_EXAMPLES`` examples of the eval split."""
        if self.engine.recipe.figures is None:
            return []
        try:
            data = self.data(self.config.eval.split)
        except DatasetNotAvailableError as error:
            logging.warning("no figures: %s", error)
            return []
        # Every process builds the same whole batch (the figures are replicated).
        indices = np.arange(min(len(data), FIGURE_EXAMPLES))
        batch = make_batch(data, indices, FIGURE_EXAMPLES, self.engine.recipe.representation)
        figures = self.engine.figures(state, batch, self.key(FIGURES))
        paths = []
        for name, images in figures.items():
            path = self.workdir / "samples" / f"{name}_{step:07d}.png"
            if self.is_main:
                flat = images.reshape(-1, *images.shape[2:])
                if flat.shape[1:] == (1, 1, 2):  # 2-D points (the toy densities)
                    save_points(flat, path)
                else:
                    save_grid(flat, path, columns=images.shape[1])
                logging.info("wrote %s to %s", name, path)
            paths.append(path)
        return paths

    def close(self) -> None:
        try:
            self.checkpointer.close()
            if self.best_checkpointer is not None:
                self.best_checkpointer.close()
        finally:
            self.writer.close()  # metrics are flushed even when the last save failed


def setup_run(
    config: ExperimentConfig, workdir: str | Path, recipe: Recipe, *, training: bool = False
) -> Run:
    """``training=False`` (eval, sample, loading): the checkpoint directories are only read,
    so a training run's half-written save beside it is left alone."""
    if not isinstance(recipe, Recipe):
        raise TypeError(
            f"recipe must be a gensys.recipes.Recipe, got {type(recipe).__name__}; build one "
            "with gensys.recipes.recipe_for(config) or your own Recipe(...)"
        )
    workdir = Path(workdir).absolute()
    mesh = sharding.make_mesh()
    sharding.check_batch_size(config.data.batch_size, mesh, "data.batch_size")
    is_main = jax.process_index() == 0
    keeps_best = bool(config.train.best_metric) or config.eval.checkpoint == "best"
    return Run(
        config=config,
        workdir=workdir,
        engine=Engine.for_recipe(recipe, mesh),
        checkpointer=Checkpointer(
            workdir / "checkpoints",
            max_to_keep=config.train.keep_checkpoints,
            read_only=not training,
        ),  # fmt: skip
        writer=MetricWriter(workdir, enabled=is_main),
        base_key=jax.random.key(config.train.seed),
        is_main=is_main,
        best_checkpointer=(
            Checkpointer(workdir / "best", max_to_keep=1, read_only=not training)
            if keeps_best
            else None
        ),
    )


def restore_or_fail(run: Run) -> tuple[int, LoopState]:
    check_unchanged(run.workdir, run.config)
    best = run.config.eval.checkpoint == "best"
    checkpointer = run.best_checkpointer if best else run.checkpointer
    restored = checkpointer.restore_latest(run.template_state())
    if restored is None:
        hint = "train with train.best_metric set" if best else "train first (--mode=train)"
        raise FileNotFoundError(f"no checkpoint in {checkpointer.directory}; {hint}")
    return restored[0], restored[1]


def format_metrics(metrics: dict[str, Any]) -> str:
    def short(v):  # 5 significant digits for ordinary floats, as is otherwise
        return f"{v:.5g}" if isinstance(v, float) and not math.isnan(v) and abs(v) < 1e5 else v

    return ", ".join(f"{name}={short(value)}" for name, value in sorted(metrics.items()))
