"""Relative file paths inside component parameters mean: relative to the recipe's folder."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from restorefw.component import RelativeToRecipe
from restorefw.registry import Registry

SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # URLs and `builtin:name`; not a drive letter such as C:


def _is_path(annotation: Any, metadata: list[Any]) -> bool:
    if any(isinstance(m, RelativeToRecipe) for m in metadata):
        return True
    if isinstance(annotation, type) and issubclass(annotation, Path):
        return True
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_path(args[0], list(args[1:]))
    return any(_is_path(arg, []) for arg in args)


def path_fields(model: type[BaseModel]) -> list[str]:
    """The fields of a parameter model that hold file paths."""
    return [name for name, info in model.model_fields.items() if _is_path(info.annotation, list(info.metadata))]


def resolve_params(model: type[BaseModel], params: dict[str, Any], base: Path) -> None:
    """Make every relative path-field value in `params` (a recipe's raw dict) absolute under `base`, in place."""
    for name in path_fields(model):
        value = params.get(name)
        if isinstance(value, (str, Path)) and str(value) and not SCHEME.match(str(value)):
            path = Path(value).expanduser()
            if not path.is_absolute():
                params[name] = str(base / path)


def resolve_recipe_paths(recipe: Any, registry: Registry, base: Path) -> None:
    """Resolve the path parameters of every component a (validated) recipe names."""
    def visit(kind: str, name: str, params: dict[str, Any]) -> None:
        resolve_params(registry.get(kind, name).Params, params, base)

    visit("generator", recipe.generator.type, recipe.generator.params)
    phases = list(recipe.schedule.phases) + [
        phase for spec in recipe.tasks or [] if not isinstance(spec, list) and spec.schedule is not None
        for phase in spec.schedule.phases or []]
    for phase in phases:
        visit("latent_space", phase.space, phase.space_params)
        visit("optimizer", phase.optimizer.type, phase.optimizer.params)
    degradations = [recipe.degradation] + list(recipe.tasks or [])
    for spec in degradations:
        for stage in spec if isinstance(spec, list) else [spec] if spec is not None else []:
            visit("degradation", stage.task, stage.params)
    for loss in recipe.losses:
        visit("loss", loss.type, loss.params)
    for metric in recipe.metrics:
        visit("metric", metric.type, metric.params)
    if recipe.inputs.dataset is not None:
        visit("dataset", recipe.inputs.dataset.type, recipe.inputs.dataset.params)
