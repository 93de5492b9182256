"""What a recipe leaves out is named by the registry's groups, never by the core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from restorefw.errors import RecipeError
from restorefw.registry import Registry

if TYPE_CHECKING:
    from restorefw.recipe import Recipe


def fill_defaults(recipe: Recipe, registry: Registry) -> None:
    """Name the components a recipe leaves to defaults (the registered members of group "default"),
    so that a dumped recipe (a manifest's) records what ran."""
    from restorefw.recipe import ComponentSpec, TaskSpec

    if recipe.metrics is None:
        recipe.metrics = [ComponentSpec(type=name) for name in registry.group("metric", "default")]
    phases = list(recipe.schedule.phases) + [phase for spec in recipe.tasks or [] if isinstance(spec, TaskSpec)
                                             and spec.schedule is not None for phase in spec.schedule.phases or []]
    for phase in [phase for phase in phases if phase.optimizer is None]:
        optimizers = registry.group("optimizer", "default")
        if len(optimizers) != 1:
            raise RecipeError(f"this phase names no optimizer and {len(optimizers)} installed optimizers are in group "
                              f"\"default\" ({', '.join(optimizers) or 'none'}).", path="schedule.phases",
                              suggestion="Write `optimizer: <name>` in every phase.")
        phase.optimizer = ComponentSpec(type=optimizers[0])
