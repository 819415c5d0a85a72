"""The one training loop, and the eval and sample modes that share its set-up.

``train(config, workdir, recipe)`` resumes from the latest checkpoint in
``workdir/checkpoints`` if there is one, and otherwise starts fresh. The key of
step ``n`` is ``fold_in(fold_in(key(seed), 1), n)`` and the data position is
checkpointed, so a resumed run repeats exactly what an uninterrupted run does
(bit-identical parameters on CPU). A run leaves behind:

``checkpoints/`` (Orbax; the newest ``keep_checkpoints``), ``metrics.jsonl`` and
``tensorboard/`` (``train/*`` every ``log_every`` steps, ``eval/*`` every
``eval_every`` steps and at the end), ``samples/step_<n>.png`` (every
``sample_every`` steps and at the end) and at the end the recipe's figures
(``samples/<name>_<n>.png``, e.g. a VAE's reconstructions).

With ``train.best_metric`` (an eval metric such as ``eval/nll_nats``), every evaluation
that improves it also saves the state to ``best/`` (one checkpoint, read back with
``eval.checkpoint="best"`` or :func:`load_best`), and ``train.patience`` evaluations in a
row without improvement end the run early (:mod:`gensys.train.best`).

SIGTERM saves a checkpoint at the current step and returns normally; reaching
``train.max_seconds`` ends the run as its last step would. More than
``nonfinite_budget`` skipped non-finite steps (checked at each log step) stop the
run with :class:`NonFiniteError` after the metrics are flushed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import threading
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np
from absl import logging
from tqdm.auto import tqdm

from gensys.data.batches import BatchIterator, eval_batches, make_batch
from gensys.data.datasets import ArraySplit, DatasetNotAvailableError, get_spec, load_split
from gensys.eval.grids import save_grid, save_points
from gensys.recipes.recipe import Recipe
from gensys.train import sharding
from gensys.train.best import BestEvaluation
from gensys.train.checkpointing import Checkpointer
from gensys.train.config import ExperimentConfig
from gensys.train.engine import Engine, LoopState
from gensys.train.metric_writers import MetricWriter

# Independent streams derived from the one seed.
_INIT, _TRAIN, _SAMPLE, _EVAL, _FIGURES = 0, 1, 2, 3, 4
# Eval examples the figures are made from (8 interpolation pairs).
FIGURE_EXAMPLES = 16


class NonFiniteError(RuntimeError):
    """Too many training steps produced NaN or infinite values."""


@dataclasses.dataclass
class TrainResult:
    step: int
    state: LoopState
    interrupted: bool
    last_metrics: dict[str, float]


@dataclasses.dataclass
class _Run:
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
        return self.engine.init(self.key(_INIT), sharding.shard_batch(local, self.engine.mesh))

    def template_state(self) -> LoopState:
        """An abstract state of this run's shapes to restore a checkpoint into."""
        c = self.config
        return self.engine.state_template(self.key(_INIT), get_spec(c.data.name), c.data.batch_size)

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
        metrics = self.engine.evaluate(state, batches, jax.random.fold_in(self.key(_EVAL), step))
        self.writer.write(step, metrics)
        self.writer.flush()
        logging.info("step %d: %s", step, _format(metrics))
        return metrics

    def write_samples(self, state: LoopState, step: int, path: Path | None = None) -> Path:
        # The same key at every step, so grids over training are comparable.
        images = self.engine.sample(state, self.key(_SAMPLE), self.config.train.num_samples)
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
        figures = self.engine.figures(state, batch, self.key(_FIGURES))
        paths = []
        for name, images in figures.items():
            path = self.workdir / "samples" / f"{name}_{step:07d}.png"
            if self.is_main:
                save_grid(images.reshape(-1, *images.shape[2:]), path, columns=images.shape[1])
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


def _setup(config: ExperimentConfig, workdir: str | Path, recipe: Recipe) -> _Run:
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
    return _Run(
        config=config,
        workdir=workdir,
        engine=Engine.for_recipe(recipe, mesh),
        checkpointer=Checkpointer(
            workdir / "checkpoints", max_to_keep=config.train.keep_checkpoints
        ),
        writer=MetricWriter(workdir, enabled=is_main),
        base_key=jax.random.key(config.train.seed),
        is_main=is_main,
        best_checkpointer=Checkpointer(workdir / "best", max_to_keep=1) if keeps_best else None,
    )


def train(config: ExperimentConfig, workdir: str | Path, recipe: Recipe) -> TrainResult:
    """Trains (or resumes training) ``recipe`` up to ``config.train.num_steps`` steps.

    The loop reads ``config.data``, ``config.train`` and ``config.eval``; the model is
    whatever ``recipe`` is: a family's (``gensys.recipes.recipe_for(config)``) or one's own.
    """
    run = _setup(config, workdir, recipe)
    try:
        return _train(run)
    finally:
        run.close()


def _train(run: _Run) -> TrainResult:
    c, engine = run.config, run.engine
    data = run.data(c.data.split)
    iterator = BatchIterator(
        data,
        c.data.batch_size,
        seed=c.train.seed,
        representation=engine.recipe.representation,
        process_index=jax.process_index(),
        process_count=jax.process_count(),
    )
    if c.train.max_seconds and jax.process_count() > 1:
        raise ValueError("train.max_seconds needs one process: hosts' clocks would disagree")
    step = 0
    t = c.train
    best = BestEvaluation(t.best_metric, t.best_mode, t.patience) if t.best_metric else None
    # Resuming restores into an abstract template; only a fresh start initialises (on data).
    restored = run.checkpointer.restore_latest(run.template_state())
    if restored is not None:
        step, state, meta = restored
        iterator.set_state(meta["data"])
        if best is not None:
            best.restore(meta.get("best"))
        logging.info("resumed from step %d in %s", step, run.checkpointer.directory)
    else:
        state = run.fresh_state(data)
        logging.info(
            "training %s on %s/%s (%d examples) for %d steps on %d device(s)",
            c.family,
            c.data.name,
            c.data.split,
            len(data),
            c.train.num_steps,
            engine.mesh.size,
        )

    def save(at_step: int) -> None:
        meta = {"data": iterator.get_state(), "step": at_step}
        if best is not None:
            meta["best"] = best.to_meta()
        run.checkpointer.save(at_step, state, meta)

    def evaluate(at_step: int) -> dict[str, float]:
        metrics = run.evaluate(state, at_step)
        if best is not None:
            if best.update(at_step, metrics):
                run.best_checkpointer.save(at_step, state, {"step": at_step, **best.to_meta()})
                logging.info("step %d: best %s so far, saved to %s", at_step, best.metric,
                             run.best_checkpointer.directory)  # fmt: skip
            record = {f"best/{best.metric}": best.value, "best/step": best.step}
            run.writer.write(at_step, record)
            metrics.update(record)
        return metrics

    train_key = run.key(_TRAIN)
    pending: list[dict[str, jax.Array]] = []
    last_metrics: dict[str, float] = {}
    interrupted = False
    tick, tick_step = time.perf_counter(), step
    bar = tqdm(
        total=c.train.num_steps,
        initial=step,
        unit="step",
        dynamic_ncols=True,
        disable=not (c.train.progress_bar and run.is_main),
        mininterval=1.0,
        desc=c.family,
    )
    deadline = time.perf_counter() + (c.train.max_seconds or math.inf)
    evaluated_at = None  # the step of the last evaluation, so the end does not repeat it
    stopped_early = best is not None and best.should_stop
    if stopped_early:
        logging.info(
            "stopped early before (best %s %.6g at step %d); nothing to do",
            best.metric, best.value, best.step,
        )  # fmt: skip
    with bar, _sigterm_flag() as stop:
        while step < c.train.num_steps and not stopped_early:
            batch = sharding.shard_batch(next(iterator), engine.mesh)
            state, metrics = engine.train_step(state, batch, jax.random.fold_in(train_key, step))
            pending.append(metrics)
            step += 1
            bar.update(1)
            last = step == c.train.num_steps or time.perf_counter() >= deadline
            if step % c.train.log_every == 0 or last or stop.is_set():
                now = time.perf_counter()
                last_metrics = _summarise(pending)
                last_metrics["train/steps_per_sec"] = (step - tick_step) / max(now - tick, 1e-9)
                skipped = int(state.nonfinite_skipped)
                last_metrics["train/nonfinite_skipped"] = skipped
                pending, tick, tick_step = [], now, step
                run.writer.write(step, last_metrics)
                if engine.recipe.monitor is not None:
                    message = engine.recipe.monitor(last_metrics)
                    if message:
                        logging.warning("step %d: %s", step, message)
                bar.set_postfix(loss=f"{last_metrics.get('train/loss', float('nan')):.4g}")
                logging.info("step %d: %s", step, _format(last_metrics))
                if skipped > c.train.nonfinite_budget:
                    run.writer.flush()
                    raise NonFiniteError(
                        f"{skipped} training steps produced non-finite values by step {step} "
                        f"(budget {c.train.nonfinite_budget}); the state was kept at the last "
                        f"finite step. Lower the learning rate or check the data."
                    )
            # Evaluate before saving, so the checkpoint's best record includes this step.
            if (c.train.eval_every and step % c.train.eval_every == 0) or last:
                last_metrics.update(evaluate(step))
                evaluated_at = step
                stopped_early = best is not None and best.should_stop
            if step % c.train.checkpoint_every == 0 or last or stop.is_set() or stopped_early:
                save(step)
            if c.train.sample_every and step % c.train.sample_every == 0 and not last:
                run.write_samples(state, step)
            if stopped_early:
                logging.info(
                    "early stop at step %d: %s has not improved for %d evaluations (best "
                    "%.6g at step %d)", step, best.metric, best.stale_evaluations, best.value,
                    best.step,
                )  # fmt: skip
                break
            if stop.is_set():
                interrupted = True
                logging.warning("SIGTERM: saved step %d in %s; exiting", step, run.workdir)
                break
            if last and step < c.train.num_steps:
                logging.info("train.max_seconds reached at step %d", step)
                break
    run.checkpointer.wait()
    if run.best_checkpointer is not None:
        run.best_checkpointer.wait()
    nothing_done = restored is not None and (
        restored[0] >= c.train.num_steps or (best is not None and evaluated_at is None
                                            and best.should_stop)
    )  # fmt: skip
    if not interrupted:
        if nothing_done:
            logging.info("already trained to step %d; nothing to do", restored[0])
        else:
            run.write_samples(state, step)
            run.write_figures(state, step)
            if evaluated_at != step:
                last_metrics.update(evaluate(step))
    run.writer.flush()
    return TrainResult(step=step, state=state, interrupted=interrupted, last_metrics=last_metrics)


def evaluate(config: ExperimentConfig, workdir: str | Path, recipe: Recipe) -> dict[str, float]:
    """Evaluates the latest checkpoint (the best one with ``eval.checkpoint="best"``) on
    ``config.eval.split``; appends to ``metrics.jsonl``."""
    run = _setup(config, workdir, recipe)
    try:
        step, state = _restore_or_fail(run)
        return run.evaluate(state, step)
    finally:
        run.close()


def sample(
    config: ExperimentConfig,
    workdir: str | Path,
    recipe: Recipe,
    path: str | Path | None = None,
) -> Path:
    """Writes a grid of ``config.train.num_samples`` samples from the latest checkpoint (the
    best one with ``eval.checkpoint="best"``) and the recipe's figures, if it makes any;
    returns the path of the sample grid."""
    run = _setup(config, workdir, recipe)
    try:
        step, state = _restore_or_fail(run)
        written = run.write_samples(
            state, step, Path(path) if path else run.workdir / "samples" / _sample_name(run, step)
        )
        run.write_figures(state, step)
        return written
    finally:
        run.close()


def _sample_name(run: _Run, step: int) -> str:
    tag = run.engine.recipe.sample_tag
    return f"sample_{step:07d}{'_' + tag if tag else ''}.png"


def load_latest(
    config: ExperimentConfig, workdir: str | Path, recipe: Recipe
) -> tuple[int, LoopState, Engine]:
    """The latest checkpoint of ``workdir`` (the best one with ``eval.checkpoint="best"``)
    as ``(step, state, engine)``, for one's own evaluation code (benchmarks, notebooks);
    ``FileNotFoundError`` when there is none."""
    run = _setup(config, workdir, recipe)
    try:
        step, state = _restore_or_fail(run)
        return step, state, run.engine
    finally:
        run.close()


def load_best(
    config: ExperimentConfig, workdir: str | Path, recipe: Recipe
) -> tuple[int, LoopState, Engine]:
    """The best checkpoint of ``workdir`` by ``train.best_metric`` as ``(step, state,
    engine)``; ``FileNotFoundError`` when the run kept none."""
    config = dataclasses.replace(config, eval=dataclasses.replace(config.eval, checkpoint="best"))
    return load_latest(config, workdir, recipe)


def _restore_or_fail(run: _Run) -> tuple[int, LoopState]:
    best = run.config.eval.checkpoint == "best"
    checkpointer = run.best_checkpointer if best else run.checkpointer
    restored = checkpointer.restore_latest(run.template_state())
    if restored is None:
        hint = "train with train.best_metric set" if best else "train first (--mode=train)"
        raise FileNotFoundError(f"no checkpoint in {checkpointer.directory}; {hint}")
    return restored[0], restored[1]


def _summarise(pending: list[dict[str, jax.Array]]) -> dict[str, float]:
    """Mean of each metric over the steps since the last log, ignoring non-finite values."""
    host, out = jax.device_get(pending), {}
    for name in host[0] if host else ():
        values = np.asarray([float(m[name]) for m in host], dtype=np.float64)
        finite = values[np.isfinite(values)]
        out[name] = float(finite.mean()) if finite.size else float("nan")
    return out


def _format(metrics: dict[str, Any]) -> str:
    def short(v):  # 5 significant digits for ordinary floats, as is otherwise
        return f"{v:.5g}" if isinstance(v, float) and not math.isnan(v) and abs(v) < 1e5 else v

    return ", ".join(f"{name}={short(value)}" for name, value in sorted(metrics.items()))


@contextlib.contextmanager
def _sigterm_flag():
    """An event set by SIGTERM while the loop runs (the previous handler is restored after)."""
    flag = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda signum, frame: flag.set())
    try:
        yield flag
    finally:
        signal.signal(signal.SIGTERM, previous)
