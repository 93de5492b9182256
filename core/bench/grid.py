"""A benchmark grid file: its schema, and loading it with every recipe it names (errors name file, field, line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from restorefw.bench.tasks import LEVELS, expand_task, is_combination
from restorefw.errors import RecipeError
from restorefw.recipe import ComponentSpec, Inputs, Recipe, Strict, load_recipe, read_yaml
from restorefw.registry import Registry
from restorefw.validation import describe_validation_error

LAYOUTS: tuple[str, ...] = ("levels", "combinations", "ablation")
# Without a `metrics:` list the grid measures what the paper reports; each layout shows its own columns.
PAPER_METRICS: tuple[str, ...] = ("lpips", "lpips-vgg", "pfid", "ssim", "psnr", "fid")
PAPER_COLUMNS: dict[str, tuple[str, ...]] = {
    "levels": ("lpips", "lpips-vgg", "pfid"),
    "combinations": ("lpips", "lpips-vgg", "pfid"),
    "ablation": ("ssim", "psnr", "lpips", "fid"),
}
SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")


class GridImages(Strict):
    """The clean images: a folder (`path`) or a registered dataset (`type`, `params`, `split`)."""

    path: str | None = None
    type: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    split: str = "test"

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_source(self) -> "GridImages":
        if (self.path is None) == (self.type is None):
            raise ValueError("give exactly one of `path` (a folder of clean images) and `type` (a dataset name)")
        return self

    def as_inputs(self, limit: int | None) -> Inputs:
        """These images as a recipe's `inputs` (benchmark mode: clean images, degraded by the grid)."""
        if self.type is not None:
            return Inputs(dataset=ComponentSpec(type=self.type, params=self.params), split=self.split, limit=limit)
        return Inputs(path=self.path, limit=limit)


class TableSpec(Strict):
    """One table: a layout, its metric columns (default: see PAPER_COLUMNS / the grid's metrics),
    and for `ablation` the level it reports (the paper's Tables V–VII use L)."""

    layout: Literal["levels", "combinations", "ablation"]
    metrics: list[str] | None = None
    level: Literal["XS", "S", "M", "L", "XL"] = "L"

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"layout": value} if isinstance(value, str) else value


class Grid(Strict):
    """A benchmark grid file."""

    name: str | None = None
    recipes: list[str] = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    levels: list[Literal["XS", "S", "M", "L", "XL"]] = Field(default_factory=lambda: list(LEVELS), min_length=1)
    images: GridImages
    limit: int | None = Field(None, ge=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    metrics: list[ComponentSpec] | None = None
    tables: list[TableSpec] | None = None
    batch_size: int | None = Field(None, ge=1, description="overrides every recipe's batch_size")
    device: Literal["auto", "cpu", "cuda"] | None = None

    @field_validator("tasks")
    @classmethod
    def _known_tasks(cls, tasks: list[str]) -> list[str]:
        seen: set[str] = set()
        for entry in tasks:
            for task in expand_task(entry):
                if task in seen:
                    raise ValueError(f"the task {task!r} is listed twice (from {entry!r})")
                seen.add(task)
        return tasks

    @field_validator("levels", "seeds")
    @classmethod
    def _unique(cls, values: list) -> list:
        if len(set(values)) != len(values):
            raise ValueError("values must be unique")
        return values

    @property
    def task_names(self) -> list[str]:
        return [task for entry in self.tasks for task in expand_task(entry)]

    @property
    def single_tasks(self) -> list[str]:
        return [t for t in self.task_names if not is_combination(t)]

    @property
    def combinations(self) -> list[str]:
        return [t for t in self.task_names if is_combination(t)]

    @property
    def sorted_levels(self) -> list[str]:
        return sorted(self.levels, key=LEVELS.index)

    @property
    def metric_specs(self) -> list[ComponentSpec]:
        return self.metrics if self.metrics is not None else [ComponentSpec(type=m) for m in PAPER_METRICS]

    def resolved_tables(self) -> list[TableSpec]:
        """The tables to write: as listed, or every layout the grid's tasks and levels allow."""
        if self.tables is not None:
            specs = list(self.tables)
        else:
            specs = []
            if self.single_tasks:
                specs.append(TableSpec(layout="levels"))
            if self.combinations:
                specs.append(TableSpec(layout="combinations"))
            if self.single_tasks and "L" in self.levels:
                specs.append(TableSpec(layout="ablation"))
        names = [m.type for m in self.metric_specs]
        out = []
        for spec in specs:
            if spec.metrics is None:
                default = PAPER_COLUMNS[spec.layout] if self.metrics is None else names
                spec = spec.model_copy(update={"metrics": [m for m in default if m in names]})
            out.append(spec)
        return out


@dataclass
class BenchRecipe:
    """A recipe of the grid, with the label that names its output folders and table columns."""

    label: str
    path: Path
    recipe: Recipe


def load_grid(path: str | Path, registry: Registry | None = None) -> tuple[Grid, list[BenchRecipe]]:
    """Read and validate a grid file and every recipe it names; errors name the file, field and line."""
    path = Path(path)
    data, lines = read_yaml(path, "grid")
    try:
        grid, recipes = _parse_grid(data, path, registry)
    except RecipeError as exc:
        raise exc.located(exc.file or str(path), lines.line_of if exc.file in (None, str(path)) else None) from None
    return grid, recipes


def _parse_grid(data: Any, path: Path, registry: Registry | None) -> tuple[Grid, list[BenchRecipe]]:
    if not isinstance(data, dict):
        raise RecipeError(f"a grid is a YAML mapping, got {type(data).__name__}.",
                          suggestion="See docs/benchmarks.md for the grid format.")
    try:
        grid = Grid.model_validate(data)
    except ValidationError as exc:
        raise describe_validation_error(exc, model=Grid, what="grid") from None
    recipes = [BenchRecipe(*_load_recipe(entry, path.parent, registry, i)) for i, entry in enumerate(grid.recipes)]
    seen: dict[str, int] = {}
    for i, item in enumerate(recipes):
        if item.label in seen:
            raise RecipeError(f"two recipes are both labelled {item.label!r} (recipes[{seen[item.label]}] and this one).",
                              path=f"recipes[{i}]", suggestion="Give them distinct `name:` fields.")
        seen[item.label] = i
    names = [m.type for m in grid.metric_specs]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise RecipeError(f"the metric {name!r} is listed twice.", path=f"metrics[{i}]")
    if registry is not None:
        for i, spec in enumerate(grid.metric_specs):
            registry.validate_params("metric", spec.type, spec.params, f"metrics[{i}]")
        for i, entry in enumerate(grid.tasks):
            for task in expand_task(entry):
                registry.get("degradation", task, f"tasks[{i}]")
        if grid.images.type is not None:
            registry.validate_params("dataset", grid.images.type, grid.images.params, "images")
    for i, spec in enumerate(grid.resolved_tables()):
        for j, metric in enumerate(spec.metrics or []):
            if metric not in names:
                raise RecipeError(f"{metric!r} is not one of the grid's metrics ({', '.join(names)}).",
                                  path=f"tables[{i}].metrics[{j}]")
        if spec.layout == "levels" and not grid.single_tasks:
            raise RecipeError("the levels layout needs at least one single task in `tasks`.", path=f"tables[{i}]")
        if spec.layout == "combinations" and not grid.combinations:
            raise RecipeError("the combinations layout needs combinations (e.g. UN, NAP) in `tasks`.",
                              path=f"tables[{i}]")
        if spec.layout == "ablation" and (spec.level not in grid.levels or not grid.single_tasks):
            raise RecipeError(f"the ablation layout reports level {spec.level}, which the grid does not run.",
                              path=f"tables[{i}].level", suggestion=f"Add {spec.level} to `levels` or set `level`.")
    return grid, recipes


def _load_recipe(entry: str, base: Path, registry: Registry | None, index: int) -> tuple[str, Path, Recipe]:
    candidates = [base / entry]
    if not Path(entry).suffix:
        candidates += [base / f"{entry}.yaml", base / f"{entry}.yml"]
    found = next((c for c in candidates if c.is_file()), None)
    if found is None:
        raise RecipeError(f"no recipe file {entry!r}; tried {', '.join(str(c) for c in candidates)}.",
                          path=f"recipes[{index}]",
                          suggestion="Recipe paths and names are relative to the grid file.")
    recipe = load_recipe(found, registry)
    label = recipe.name or found.stem
    if not label or set(label) - SAFE:
        raise RecipeError(f"the recipe label {label!r} (its `name:` or file name) must use only letters, digits "
                          "and . _ + - (it names output folders and table columns).", path=f"recipes[{index}]")
    return label, found, recipe
