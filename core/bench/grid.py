"""A benchmark grid file: its schema, and loading it with every recipe it names (errors name file, field, line)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from restorefw.bench.tasks import Task, Vocabulary
from restorefw.errors import RecipeError
from restorefw.recipe import ComponentSpec, DegradationSpec, Inputs, Recipe, Strict, load_recipe, read_yaml
from restorefw.registry import Registry
from restorefw.threads import THREADS_HELP, Threads
from restorefw.validation import describe_validation_error

LAYOUTS: tuple[str, ...] = ("levels", "combinations", "ablation")
# Without a `metrics:` list the grid measures the metrics in group "paper"; each layout shows the
# members of group "paper-<layout>" among them.
PAPER = "paper"


def _declared_level(value: str, info: ValidationInfo) -> str:
    """A level some installed degradation declares (the registry's levels come in the validation context)."""
    known = (info.context or {}).get("levels")
    if known is not None and value not in known:
        raise ValueError(f"no installed degradation has the level {value!r} (levels: {', '.join(known) or 'none'})")
    return value


Level = Annotated[str, AfterValidator(_declared_level)]
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
    """One table: a layout, its metric columns (default: the grid's metrics in group "paper-<layout>",
    or all of the grid's own `metrics:`), and for `ablation` the level it reports (default: the level
    below the strongest one the tasks declare, as the paper's Tables V–VII do)."""

    layout: Literal["levels", "combinations", "ablation"]
    metrics: list[str] | None = None
    level: Level | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"layout": value} if isinstance(value, str) else value


class Grid(Strict):
    """A benchmark grid file."""

    name: str | None = None
    recipes: list[str] = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    levels: list[Level] | None = Field(None, min_length=1, description="default: every level the single tasks declare")
    combination_level: str | None = Field(
        None, description="the level of every stage of a combination; default: the level its stages use by default")
    images: GridImages
    limit: int | None = Field(None, ge=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    metrics: list[ComponentSpec] | None = None
    tables: list[TableSpec] | None = None
    batch_size: int | None = Field(None, ge=1, description="overrides every recipe's batch_size")
    device: Literal["auto", "cpu", "cuda"] | None = None
    threads: Threads | None = Field(None, description=THREADS_HELP + "; overrides every recipe's")
    _tasks: dict[str, Task] = PrivateAttr(default_factory=dict)
    _paper: dict[str, list[str]] = PrivateAttr(default_factory=dict)

    @field_validator("levels", "seeds")
    @classmethod
    def _unique(cls, values: list | None) -> list | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError("values must be unique")
        return values

    def bind(self, registry: Registry) -> None:
        """Resolve `tasks:` and the default metrics with the registry's vocabulary; errors name the field."""
        vocabulary = Vocabulary(registry)
        for i, entry in enumerate(self.tasks):
            for task in vocabulary.expand(entry, f"tasks[{i}]"):
                if task.name in self._tasks:
                    raise RecipeError(f"the task {task.name!r} is listed twice (from {entry!r}).", path="tasks")
                self._tasks[task.name] = task
        self._paper = {group: registry.group("metric", group)
                       for group in (PAPER, *(f"{PAPER}-{layout}" for layout in LAYOUTS))}
        declared = [level for task in self._tasks.values() for level in task.declared_levels]
        for i, level in enumerate(self.levels or []):
            if level not in declared:
                raise RecipeError(f"no task of the grid has the level {level!r}; their levels: "
                                  f"{', '.join(dict.fromkeys(declared)) or 'none'}.", path=f"levels[{i}]")
        for name in self.single_tasks:
            if not self.levels_of(name):
                raise RecipeError(f"the task {name!r} runs at none of the grid's levels (its levels: "
                                  f"{', '.join(self._tasks[name].declared_levels)}).", path="levels")
        for name in self.combinations:
            self.degradation_of(name, self.levels_of(name)[0])

    def task(self, name: str) -> Task:
        return self._tasks[name]

    @property
    def task_names(self) -> list[str]:
        return list(self._tasks)

    @property
    def single_tasks(self) -> list[str]:
        return [name for name, task in self._tasks.items() if not task.is_combination]

    @property
    def combinations(self) -> list[str]:
        return [name for name, task in self._tasks.items() if task.is_combination]

    def levels_of(self, name: str) -> list[str]:
        """The levels `name` runs at, in its declared order; [""] for a task without levels."""
        task = self._tasks[name]
        if task.is_combination:
            return [self.combination_level or task.default_level() or ""]
        if not task.declared_levels:
            return [""]
        return [level for level in task.declared_levels if self.levels is None or level in self.levels]

    @property
    def sorted_levels(self) -> list[str]:
        """Every level the single tasks run at, in declared order."""
        return list(dict.fromkeys(level for name in self.single_tasks for level in self.levels_of(name)))

    @property
    def ablation_level(self) -> str | None:
        """The level below the strongest one the first single task declares (its only one if it has one)."""
        declared = [t.declared_levels for t in self._tasks.values() if not t.is_combination and t.declared_levels]
        return declared[0][-2] if declared and len(declared[0]) > 1 else (declared[0][0] if declared else None)

    def degradation_of(self, name: str, level: str) -> DegradationSpec | list[DegradationSpec]:
        """The recipe `degradation:` of task `name` at `level` ("" = none)."""
        task = self._tasks[name]
        if not task.is_combination:
            return DegradationSpec(task=name, level=level or None)
        stages = []
        for stage in task.stages:
            if level and level not in stage.levels:
                raise RecipeError(f"the combination {name!r} runs at level {level!r}, which {stage.name!r} does not "
                                  f"have (its levels: {', '.join(stage.levels) or 'none'}).", path="combination_level")
            stages.append(DegradationSpec(task=task.stage_names[task.stages.index(stage)], level=level or None))
        return stages

    @property
    def metric_specs(self) -> list[ComponentSpec]:
        return self.metrics if self.metrics is not None else [ComponentSpec(type=m) for m in self._paper.get(PAPER, [])]

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
            if self.single_tasks and self.ablation_level in self.sorted_levels:
                specs.append(TableSpec(layout="ablation"))
        names = [m.type for m in self.metric_specs]
        out = []
        for spec in specs:
            if spec.metrics is None:
                default = self._paper.get(f"{PAPER}-{spec.layout}", []) if self.metrics is None else names
                spec = spec.model_copy(update={"metrics": [m for m in default if m in names]})
            if spec.layout == "ablation" and spec.level is None:
                spec = spec.model_copy(update={"level": self.ablation_level})
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
    if registry is None:
        from restorefw.plugins import load_plugins

        registry = load_plugins().registry
    levels = list(dict.fromkeys(level for cls in registry.classes("degradation") for level in cls.levels))
    try:
        grid = Grid.model_validate(data, context={"levels": levels})
    except ValidationError as exc:
        raise describe_validation_error(exc, model=Grid, what="grid") from None
    grid.bind(registry)
    recipes = [BenchRecipe(*_load_recipe(entry, path.parent, registry, i)) for i, entry in enumerate(grid.recipes)]
    seen: dict[str, int] = {}
    for i, item in enumerate(recipes):
        if item.label in seen:
            raise RecipeError(f"two recipes are both labelled {item.label!r} (recipes[{seen[item.label]}] and this "
                              "one).",
                              path=f"recipes[{i}]", suggestion="Give them distinct `name:` fields.")
        seen[item.label] = i
    names = [m.type for m in grid.metric_specs]
    for i, name in enumerate(names):
        if names.index(name) != i:
            raise RecipeError(f"the metric {name!r} is listed twice.", path=f"metrics[{i}]")
    for i, spec in enumerate(grid.metric_specs):
        registry.validate_params("metric", spec.type, spec.params, f"metrics[{i}]")
    if grid.images.type is not None:
        registry.validate_params("dataset", grid.images.type, grid.images.params, "images")
    for i, table in enumerate(grid.resolved_tables()):
        for j, metric in enumerate(table.metrics or []):
            if metric not in names:
                raise RecipeError(f"{metric!r} is not one of the grid's metrics ({', '.join(names)}).",
                                  path=f"tables[{i}].metrics[{j}]")
        if table.layout == "levels" and not grid.single_tasks:
            raise RecipeError("the levels layout needs at least one single task in `tasks`.", path=f"tables[{i}]")
        if table.layout == "combinations" and not grid.combinations:
            raise RecipeError("the combinations layout needs combinations (e.g. UN, NAP) in `tasks`.",
                              path=f"tables[{i}]")
        if table.layout == "ablation" and (table.level not in grid.sorted_levels or not grid.single_tasks):
            raise RecipeError(f"the ablation layout reports level {table.level}, which the grid does not run.",
                              path=f"tables[{i}].level", suggestion=f"Add {table.level} to `levels` or set `level`.")
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
