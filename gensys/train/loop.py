"""The one training loop, and the eval and sample modes that share its set-up.

``train(config, workdir, recipe)`` resumes from the latest checkpoint in
``workdir/checkpoints`` if there is one, and otherwise starts fresh. It holds the
workdir's lock while it runs: a second training process in the same workdir fails at once
naming the first (:mod:`gensys.train.workdir_lock`); eval and sample only read and may run
beside it. The key of
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
``nonfinite_budget`` skipped non-finite steps (checked at each log step and before each
save) stop the run with :class:`NonFiniteError` after the metrics are flushed, without
saving; the last checkpoint saved before any step was skipped is never rotated out, and
the error names it for ``train.resume_step`` (:mod:`gensys.train.clean_checkpoints`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import signal
import threading
import time
from pathlib import Path

import jax
import numpy as np
from absl import logging
from tqdm.auto import tqdm

from gensys.data.batches import BatchIterator
from gensys.recipes.recipe import Recipe
from gensys.train import sharding
from gensys.train.best import BestEvaluation
from gensys.train.clean_checkpoints import CleanCheckpoints
from gensys.train.config import ExperimentConfig
from gensys.train.end_of_run import EndOfRunRecord
from gensys.train.engine import Engine, LoopState
from gensys.train.run import TRAIN, Run, format_metrics, restore_or_fail, setup_run
from gensys.train.run_config import check_unchanged, write_config
from gensys.train.workdir_lock import WorkdirLock


@dataclasses.dataclass
class TrainResult:
    step: int
    state: LoopState
    interrupted: bool
    last_metrics: dict[str, float]


def train(config: ExperimentConfig, workdir: str | Path, recipe: Recipe) -> TrainResult:
    """Trains (or resumes training) ``recipe`` up to ``config.train.num_steps`` steps.

    The loop reads ``config.data``, ``config.train`` and ``config.eval``; the model is
    whatever ``recipe`` is: a family's (``gensys.recipes.recipe_for(config)``) or one's own.
    """
    workdir = Path(workdir).absolute()
    # One owner a workdir: taken before anything in it is touched (process 0 holds it).
    with WorkdirLock(workdir) if jax.process_index() == 0 else contextlib.nullcontext():
        run = setup_run(config, workdir, recipe, training=True)
        try:
            return _train(run)
        finally:
            run.close()


def _train(run: Run) -> TrainResult:
    c, engine = run.config, run.engine
    data = run.data(c.data.split)
    iterator = BatchIterator(
        data,
        c.data.batch_size,
        seed=c.train.seed,
        representation=engine.recipe.representation,
        process_index=jax.process_index(),
        process_count=jax.process_count(),
        drop_remainder=engine.recipe.full_batches,
        random_flip=c.data.random_flip,
    )
    if c.train.max_seconds and jax.process_count() > 1:
        raise ValueError("train.max_seconds needs one process: hosts' clocks would disagree")
    step = 0
    t = c.train
    best = BestEvaluation(t.best_metric, t.best_mode, t.patience) if t.best_metric else None
    if run.checkpointer.all_steps():
        check_unchanged(run.workdir, c)  # before restoring: a changed model, named field by field
    restored = _restore(run)
    if run.is_main:
        write_config(run.workdir, c)
    clean = CleanCheckpoints(t.nonfinite_budget, run.checkpointer.directory)
    resumed_from = None
    if restored is not None:
        step, state, meta = restored
        iterator.set_state(meta["data"])
        if best is not None:
            best.restore(meta.get("best"))
        clean.restore(meta, step, int(state.nonfinite_skipped))
        resumed_from = meta.get("resumed_from")
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

    def stop_if_diverged(skipped: int, at_step: int, finite: bool = True) -> None:
        if clean.over_budget(skipped) or not finite:
            run.writer.flush()
            raise clean.error(skipped, at_step)

    def save(at_step: int) -> None:
        # Checked at every save, not only at log steps: a state past the budget (or, however
        # it came about, non-finite) never replaces a good checkpoint.
        skipped = int(state.nonfinite_skipped)
        stop_if_diverged(skipped, at_step, engine.is_finite(state))
        meta = {
            "data": iterator.get_state(),
            "step": at_step,
            **clean.saving(at_step, skipped),
            "resumed_from": resumed_from,
        }
        if best is not None:
            meta["best"] = best.to_meta()
        run.checkpointer.save(at_step, state, meta, protect=clean.last_clean)

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

    train_key = run.key(TRAIN)
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
                logging.info("step %d: %s", step, format_metrics(last_metrics))
                stop_if_diverged(skipped, step)
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
    if not interrupted:
        # The end-of-run steps not yet done at this step: all of them after training, the
        # ones that failed before when a finished run is started again.
        record = EndOfRunRecord(run.workdir, step, writes=run.is_main)
        if evaluated_at == step:
            record.mark("eval")
        if record.complete:
            logging.info("already trained to step %d; nothing to do", step)
        if "samples" not in record.done:
            run.write_samples(state, step)
            record.mark("samples")
        if "figures" not in record.done:
            run.write_figures(state, step)
            record.mark("figures")
        if "eval" not in record.done:
            last_metrics.update(evaluate(step))
            record.mark("eval")
    run.writer.flush()
    return TrainResult(step=step, state=state, interrupted=interrupted, last_metrics=last_metrics)


def _restore(run: Run) -> tuple[int, LoopState, dict] | None:
    """The checkpoint a run continues from: the latest, or ``train.resume_step``'s.

    Resuming from an earlier step abandons the checkpoints after it (a diverged branch):
    they are deleted, or the new branch's saves would collide with them. A run already
    continuing from that step (its checkpoints record ``resumed_from``) just goes on.
    """
    template = run.template_state()  # abstract: restoring allocates only what it reads
    wanted = run.config.train.resume_step
    steps = run.checkpointer.all_steps()
    # Only the latest checkpoint's JSON record says whether this branch is already running.
    if not wanted or (
        steps and run.checkpointer.read_meta(steps[-1]).get("resumed_from") == wanted
    ):
        return run.checkpointer.restore_latest(template)
    if wanted not in steps:
        raise ValueError(
            f"train.resume_step={wanted}: {run.checkpointer.directory} has no checkpoint "
            f"{wanted}; it has steps {steps}"
        )
    state, meta = run.checkpointer.restore(wanted, template)
    dropped = run.checkpointer.delete_after(wanted)
    if run.best_checkpointer is not None:
        dropped += run.best_checkpointer.delete_after(wanted)
    logging.warning(
        "resuming from step %d (train.resume_step); deleted the later checkpoints %s",
        wanted, dropped,
    )  # fmt: skip
    return wanted, state, {**meta, "resumed_from": wanted}


def evaluate(config: ExperimentConfig, workdir: str | Path, recipe: Recipe) -> dict[str, float]:
    """Evaluates the latest checkpoint (the best one with ``eval.checkpoint="best"``) on
    ``config.eval.split``; appends to ``metrics.jsonl``."""
    run = setup_run(config, workdir, recipe)
    try:
        step, state = restore_or_fail(run)
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
    run = setup_run(config, workdir, recipe)
    try:
        step, state = restore_or_fail(run)
        written = run.write_samples(
            state, step, Path(path) if path else run.workdir / "samples" / _sample_name(run, step)
        )
        run.write_figures(state, step)
        return written
    finally:
        run.close()


def _sample_name(run: Run, step: int) -> str:
    tag = run.engine.recipe.sample_tag
    return f"sample_{step:07d}{'_' + tag if tag else ''}.png"


def load_latest(
    config: ExperimentConfig, workdir: str | Path, recipe: Recipe
) -> tuple[int, LoopState, Engine]:
    """The latest checkpoint of ``workdir`` (the best one with ``eval.checkpoint="best"``)
    as ``(step, state, engine)``, for one's own evaluation code (benchmarks, notebooks);
    ``FileNotFoundError`` when there is none."""
    run = setup_run(config, workdir, recipe)
    try:
        step, state = restore_or_fail(run)
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


def _summarise(pending: list[dict[str, jax.Array]]) -> dict[str, float]:
    """Mean of each metric over the steps since the last log, ignoring non-finite values."""
    host, out = jax.device_get(pending), {}
    for name in host[0] if host else ():
        values = np.asarray([float(m[name]) for m in host], dtype=np.float64)
        finite = values[np.isfinite(values)]
        out[name] = float(finite.mean()) if finite.size else float("nan")
    return out


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
