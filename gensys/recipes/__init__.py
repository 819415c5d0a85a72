"""Recipes: each family's model, objective, optimizer and samples as the pure functions the
engine runs (:class:`Recipe`), and the one mapping from a family's name to its recipe."""

from gensys.recipes.recipe import Recipe
from gensys.recipes.registry import FAMILIES, build_recipe, recipe_for

__all__ = ["FAMILIES", "Recipe", "build_recipe", "recipe_for"]
