"""The files a recipe names exist: what `restorefw validate` checks (unless --no-files) before a run would fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from restorefw.errors import RecipeError
from restorefw.inputs import input_files, masks_folder
from restorefw.recipe import Recipe, TaskSpec, read_yaml
from restorefw.recipe_paths import SCHEME, path_fields
from restorefw.registry import Registry


def components(recipe: Recipe) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    """(YAML path of the params, kind, name, params) of every component a recipe names."""
    yield "generator.params", "generator", recipe.generator.type, recipe.generator.params
    schedules = [("schedule", recipe.schedule.phases)] + [
        (f"tasks[{i}].schedule", spec.schedule.phases) for i, spec in enumerate(recipe.tasks or [])
        if isinstance(spec, TaskSpec) and spec.schedule is not None and spec.schedule.phases is not None]
    for where, phases in schedules:
        for i, phase in enumerate(phases):
            yield f"{where}.phases[{i}].space_params", "latent_space", phase.space, phase.space_params
            if phase.optimizer is not None:
                yield (f"{where}.phases[{i}].optimizer.params", "optimizer", phase.optimizer.type,
                       phase.optimizer.params)
    variants = [("degradation", recipe.degradation)] if recipe.tasks is None else [
        (f"tasks[{i}]", spec) for i, spec in enumerate(recipe.tasks)]
    for base, spec in variants:
        stages = [] if spec is None else spec if isinstance(spec, list) else [spec]
        for i, stage in enumerate(stages):
            where = f"{base}[{i}].params" if isinstance(spec, list) else f"{base}.params"
            yield where, "degradation", stage.task, stage.params
    for i, loss in enumerate(recipe.losses):
        yield f"losses[{i}].params", "loss", loss.type, loss.params
    for i, metric in enumerate(recipe.metrics or []):
        yield f"metrics[{i}].params", "metric", metric.type, metric.params
    if recipe.inputs.dataset is not None:
        yield "inputs.dataset.params", "dataset", recipe.inputs.dataset.type, recipe.inputs.dataset.params


def check_files(recipe: Recipe, registry: Registry, base: Path) -> None:
    """Raise the RecipeError a run would meet first for a missing input, mask folder or component file.

    `base` is the recipe's folder; component paths were made absolute by `load_recipe` already. URLs
    and `scheme:name` values (e.g. `builtin:`) are left to their component."""
    if recipe.inputs.dataset is None and not input_files(recipe, base):
        raise RecipeError("no images found.", path="inputs.path",
                          suggestion="Check inputs.path; images directly inside the folder are used.")
    masks_folder(recipe, base)
    for where, kind, name, params in components(recipe):
        for field in path_fields(registry.get(kind, name).Params):
            value = params.get(field)
            if not isinstance(value, (str, Path)) or not str(value) or SCHEME.match(str(value)):
                continue
            path = Path(value).expanduser()
            path = path if path.is_absolute() else base / path
            if not path.exists():
                raise RecipeError(f"{path} does not exist.", path=f"{where}.{field}",
                                  suggestion="Relative paths are relative to the recipe file; "
                                             "`restorefw validate --no-files` skips this check.")


def check_recipe_files(recipe: Recipe, registry: Registry, recipe_file: Path) -> None:
    """`check_files` for a recipe read from `recipe_file`; the error names the file and the line."""
    try:
        check_files(recipe, registry, recipe_file.resolve().parent)
    except RecipeError as exc:
        raise exc.located(str(recipe_file), read_yaml(recipe_file)[1].line_of) from None
