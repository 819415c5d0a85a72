"""gensys: classic deep generative models in JAX/Flax.

Layers: math (``gensys.diffusion`` ...: pure functions), nets (``gensys.nets``:
Flax modules) and orchestration (``gensys.data``, ``gensys.train``,
``gensys.eval``). Import the submodule you need; this package imports nothing
heavy on its own.
"""

__version__ = "0.1.0"
