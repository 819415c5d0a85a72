"""Evaluation helpers: sample grids (metrics land here as families grow)."""

from gensys.eval.grids import make_grid, save_grid

__all__ = ["make_grid", "save_grid"]
