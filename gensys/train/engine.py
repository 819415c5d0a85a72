"""A recipe's functions compiled once for a device mesh, with the non-finite guard.

:class:`Engine` jits the recipe's ``init``, ``train_step``, ``eval_step`` and
``sample`` with explicit shardings (state replicated, batches split along
``data``) and wraps the train step in a guard: when the new state or the
metrics hold a NaN or an infinity, the old state is kept and a counter in
:class:`LoopState` goes up. The guard looks at the result, so it also catches
what gradient clipping and ``optax.apply_if_finite`` do not (a finite update
that overflows a parameter, or a non-finite EMA).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Iterator
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh

from gensys.data.batches import REPRESENTATIONS
from gensys.data.datasets import DatasetSpec
from gensys.recipes.recipe import Recipe
from gensys.train import sharding


@flax.struct.dataclass
class LoopState:
    """The recipe's state plus the loop's own counter of skipped non-finite steps."""

    model: Any
    nonfinite_skipped: jax.Array


def all_finite(tree: Any, *, concatenated: bool = False) -> jax.Array:
    """True when every floating leaf of ``tree`` is finite.

    ``concatenated=True`` tests one vector per dtype, the leaves raveled end to end, instead
    of reducing each leaf on its own: XLA:CPU compiles every reduction as a kernel of its
    own, so for a tiny DDPM UNet's training state (515 leaves) the check compiled in 0.29 s
    instead of 0.98 s, and the guarded training step around it in 7.7 s instead of 9.5 s
    (``python -m benchmarks.compile_time``, gensys's flags). The price is a copy of the
    state, which the engine pays on CPU only.
    """
    leaves = [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]
    if not leaves:
        return jnp.array(True)
    if concatenated:
        by_dtype: dict[Any, list[jax.Array]] = {}
        for x in leaves:
            by_dtype.setdefault(jnp.result_type(x), []).append(jnp.ravel(x))
        leaves = [jnp.concatenate(group) for group in by_dtype.values()]
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def to_host(x: jax.Array) -> np.ndarray:
    """A global array as one NumPy array on every process."""
    if x.is_fully_addressable:
        return np.asarray(x)
    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


class Engine:
    """The compiled functions of one recipe on one mesh. :meth:`for_recipe` gives the same
    engine again for the same recipe and mesh, so a process that trains, resumes,
    evaluates and samples one recipe (a notebook, a benchmark, the tests) traces and
    compiles each function once.

    ``compiler_options`` (``jax.jit``'s: XLA debug options by name, such as
    ``{"xla_backend_optimization_level": 3}``) apply to every function the engine
    compiles, e.g. to compile a step that runs many times with more optimisation than a
    process's ``XLA_FLAGS`` give the rest.
    """

    _cache: weakref.WeakKeyDictionary[Recipe, dict[Mesh, Engine]] = weakref.WeakKeyDictionary()

    @classmethod
    def for_recipe(cls, recipe: Recipe, mesh: Mesh) -> Engine:
        """The engine of ``recipe`` on ``mesh``, built on first use (kept while the recipe
        lives)."""
        engines = cls._cache.setdefault(recipe, {})
        if mesh not in engines:
            engines[mesh] = cls(recipe, mesh)
        return engines[mesh]

    def __init__(self, recipe: Recipe, mesh: Mesh, compiler_options: dict | None = None):
        if recipe.representation not in REPRESENTATIONS:
            raise ValueError(
                f"recipe {recipe.name!r} has representation {recipe.representation!r}; "
                f"expected one of {REPRESENTATIONS}"
            )
        self.recipe = recipe
        self.mesh = mesh
        repl = sharding.replicated(mesh)
        data = sharding.batch_sharded(mesh)
        self.trace_count = 0  # how often train_step was traced; a test checks it stays 1
        # One concatenated finiteness test on CPU, where a reduction per leaf compiles
        # slowly; per leaf elsewhere, where it costs no copy of the state (see all_finite).
        on_cpu = mesh.devices.flat[0].platform == "cpu"
        finite_check = functools.partial(all_finite, concatenated=on_cpu)

        def init(key, batch):
            return LoopState(recipe.init(key, batch), jnp.zeros((), jnp.int32))

        def guarded_step(state: LoopState, batch, key):
            self.trace_count += 1
            new_model, metrics = recipe.train_step(state.model, batch, key)
            finite = finite_check((new_model, metrics))
            # One lax.cond, not a jnp.where per leaf: on XLA:CPU the per-leaf selects
            # took a DDPM step's compile from 21 s to 220 s at the same run time.
            model = jax.lax.cond(finite, lambda: new_model, lambda: state.model)
            skipped = state.nonfinite_skipped + jnp.where(finite, 0, 1).astype(jnp.int32)
            return LoopState(model, skipped), metrics

        jit = functools.partial(jax.jit, compiler_options=compiler_options)
        self._init = jit(init, out_shardings=repl)
        self._all_finite = jit(finite_check)
        self._train_step = jit(
            guarded_step,
            in_shardings=(repl, data, repl),
            out_shardings=(repl, repl),
            donate_argnums=0,
        )
        self._eval_step = jit(recipe.eval_step, in_shardings=(repl, data, repl))
        # Samples split over the devices when their number allows it.
        self._sample_sharded = jit(recipe.sample, static_argnums=2, out_shardings=data)
        self._sample_replicated = jit(recipe.sample, static_argnums=2, out_shardings=repl)
        self._figures = (
            None
            if recipe.figures is None
            else jit(recipe.figures, in_shardings=repl, out_shardings=repl)
        )

    def example_batch(self, spec: DatasetSpec, batch_size: int) -> dict[str, jax.Array]:
        """An all-zero global batch of the shapes the pipeline produces."""
        dtype = np.float32 if self.recipe.representation == "float" else np.int32
        local = batch_size // jax.process_count()
        return sharding.shard_batch(
            {
                "image": np.zeros((local, *spec.image_shape), dtype),
                "label": np.zeros((local,), np.int32),
                "mask": np.ones((local,), np.float32),
            },
            self.mesh,
        )

    def init(self, key: jax.Array, example_batch: dict[str, jax.Array]) -> LoopState:
        return self._init(key, example_batch)

    def state_template(self, key: jax.Array, spec: DatasetSpec, batch_size: int) -> LoopState:
        """The shapes, dtypes and shardings of a state, to restore a checkpoint into: traced
        with ``jax.eval_shape``, so nothing is compiled or computed."""
        return jax.eval_shape(self._init, key, self.example_batch(spec, batch_size))

    def is_finite(self, state: LoopState) -> bool:
        """Whether every floating array of the state (parameters, optimizer moments, EMA)
        is finite: checked before each save, so no checkpoint holds a NaN."""
        return bool(self._all_finite(state.model))

    def train_step(self, state: LoopState, batch: dict[str, jax.Array], key: jax.Array):
        """One guarded step; ``state`` is donated (do not use it afterwards)."""
        return self._train_step(state, batch, key)

    def evaluate(
        self, state: LoopState, batches: Iterator[dict[str, np.ndarray]], key: jax.Array
    ) -> dict[str, float]:
        """Per-example eval metrics averaged over every unmasked example, as ``eval/<name>``."""
        sums: dict[str, float] = {}
        count = 0.0
        for i, batch in enumerate(batches):
            global_batch = sharding.shard_batch(batch, self.mesh)
            out = self._eval_step(state.model, global_batch, jax.random.fold_in(key, i))
            mask = to_host(global_batch["mask"]).astype(np.float64)
            count += float(mask.sum())
            for name, values in out.items():
                values = to_host(values).astype(np.float64)
                sums[name] = sums.get(name, 0.0) + float(np.sum(values * mask))
        if count == 0:
            raise ValueError("evaluation saw no examples")
        means = {name: total / count for name, total in sums.items()}
        if self.recipe.finalize_eval is not None:
            means = self.recipe.finalize_eval(means)
        return {f"eval/{name}": value for name, value in means.items()}

    def per_example(
        self,
        state: LoopState,
        batches: Iterator[dict[str, np.ndarray]],
        key: jax.Array,
        metric: str,
    ) -> np.ndarray:
        """One eval metric per unmasked example, in order (e.g. each image's ``nll_nats``),
        from the same compiled eval step and keys as :meth:`evaluate`."""
        values = []
        for i, batch in enumerate(batches):
            global_batch = sharding.shard_batch(batch, self.mesh)
            out = self._eval_step(state.model, global_batch, jax.random.fold_in(key, i))
            if metric not in out:
                raise KeyError(
                    f"the {self.recipe.name} recipe reports no {metric!r}: {sorted(out)}"
                )
            mask = to_host(global_batch["mask"]).astype(bool)
            values.append(to_host(out[metric]).astype(np.float64)[mask])
        return np.concatenate(values) if values else np.zeros((0,))

    def sample(self, state: LoopState, key: jax.Array, num: int) -> np.ndarray:
        """``num`` samples ``[num, H, W, C]`` in ``[-1, 1]`` as a host array."""
        fn = self._sample_sharded if num % self.mesh.size == 0 else self._sample_replicated
        return to_host(fn(state.model, key, num))

    def figures(
        self, state: LoopState, batch: dict[str, np.ndarray], key: jax.Array
    ) -> dict[str, np.ndarray]:
        """The recipe's named pictures ``[rows, columns, H, W, C]`` from a small batch that
        every process holds whole (``{}`` when the recipe makes none)."""
        if self._figures is None:
            return {}
        batch = jax.device_put(batch, sharding.replicated(self.mesh))
        out = self._figures(state.model, batch, key)
        return {name: to_host(images) for name, images in out.items()}
