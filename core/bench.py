"""`restorefw bench`: a recipes × tasks × levels × seeds grid over an image set, sharded and resumable.

The grid expands into a sorted manifest of work items (recipe, task, level, seed, image). Items of
one cell (recipe, task, level, seed) are grouped into batches of the recipe's `batch_size` in image
order; a batch is the unit of work and of sharding (batch k goes to shard k mod n), so every item
is always restored in the same batch whatever the number of processes, and results do not depend
on sharding. Each item writes its outputs and, last and atomically, its done-record
(`cells/<recipe>/<task>-<level>/seed<s>/images/<image>/done.json`); a rerun skips finished items.
When a process finishes its shard and finds every item of the manifest done, it gathers: set
metrics, `results.json` and the tables (see `restorefw.bench_tables`). The last process to finish
therefore gathers; a lock file keeps two simultaneous finishers from gathering twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

import torch
from pydantic import Field, ValidationError, field_validator, model_validator

from restorefw.device import resolve_device
from restorefw.errors import RecipeError, RestoreError, UserError, WorkError
from restorefw.evaluation import build_metrics, set_scores
from restorefw.generator import GeneratorNetwork
from restorefw.imageio import atomic_write_json, read_image
from restorefw.inputs import InputImage, resolve_inputs
from restorefw.outputs import image_dir, is_done, read_done
from restorefw.plugins import PluginSet
from restorefw.progress import Progress
from restorefw.recipe import ComponentSpec, DegradationSpec, Inputs, Recipe, Strict, load_recipe, read_yaml
from restorefw.registry import Registry
from restorefw.validation import describe_validation_error

LEVELS: tuple[str, ...] = ("XS", "S", "M", "L", "XL")
TASK_LETTERS: dict[str, str] = {"U": "upsampling", "N": "denoising", "A": "deartifacting", "P": "inpainting"}
SINGLE_TASKS: tuple[str, ...] = tuple(TASK_LETTERS.values())
# The paper's order (Tables II/IV), plus UP, which it omits; names in U → N → A → P order.
COMBINATIONS: tuple[str, ...] = ("NA", "AP", "UA", "NP", "UN", "UP", "UNP", "UAP", "UNA", "NAP", "UNAP")
COMBINATION_LEVEL = "M"
LAYOUTS: tuple[str, ...] = ("levels", "combinations", "ablation")
# Without a `metrics:` list the grid measures what the paper reports; each layout shows its own columns.
PAPER_METRICS: tuple[str, ...] = ("lpips", "lpips-vgg", "pfid", "ssim", "psnr", "fid")
PAPER_COLUMNS: dict[str, tuple[str, ...]] = {
    "levels": ("lpips", "lpips-vgg", "pfid"),
    "combinations": ("lpips", "lpips-vgg", "pfid"),
    "ablation": ("ssim", "psnr", "lpips", "fid"),
}
GROUPS: dict[str, str] = {"single": "the four single tasks", "combinations": "the 11 combinations",
                          "all": "the four single tasks and the 11 combinations"}
SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-")


def combination_name(text: str) -> str | None:
    """`UPA` → `UAP` (letters in application order U → N → A → P); None when `text` is not a combination."""
    if len(text) < 2 or any(ch not in TASK_LETTERS for ch in text) or len(set(text)) != len(text):
        return None
    return "".join(ch for ch in TASK_LETTERS if ch in text)


def expand_task(text: str) -> list[str]:
    """A `tasks:` entry as task names: a group, a letter, a combination or a degradation name."""
    if text == "single":
        return list(SINGLE_TASKS)
    if text == "combinations":
        return list(COMBINATIONS)
    if text == "all":
        return [*SINGLE_TASKS, *COMBINATIONS]
    if text in TASK_LETTERS:
        return [TASK_LETTERS[text]]
    return [combination_name(text) or text]


def is_combination(task: str) -> bool:
    return combination_name(task) == task


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


@dataclass(frozen=True)
class Cell:
    """One (recipe, task, level, seed) combination; its images are restored with one setting."""

    recipe: str
    task: str
    level: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.recipe}/{self.task}/{self.level}/seed{self.seed}"

    def folder(self, root: Path) -> Path:
        return root / "cells" / self.recipe / f"{self.task}-{self.level}" / f"seed{self.seed}"


@dataclass(frozen=True)
class WorkItem:
    cell: Cell
    image: str

    @property
    def key(self) -> str:
        return f"{self.cell.key}/{self.image}"


@dataclass
class Batch:
    """The unit of work: items of one cell, restored together."""

    index: int
    cell: Cell
    images: list[InputImage]

    @property
    def items(self) -> list[WorkItem]:
        return [WorkItem(self.cell, image.image_id) for image in self.images]


@dataclass
class BenchRecipe:
    label: str
    path: Path
    recipe: Recipe


@dataclass
class Outcome:
    """What one process did."""

    executed: list[str] = field(default_factory=list)  # item keys restored and written by this process
    skipped: int = 0  # items of this shard already done
    done: int = 0  # items of the whole manifest done at the end
    total: int = 0
    gathered: bool = False
    problems: list[str] = field(default_factory=list)


def parse_shard(text: str | None) -> tuple[int, int]:
    """`--shard i/n`, else RANK/WORLD_SIZE from the environment (torchrun), else 0/1."""
    if text is None:
        rank, world = os.environ.get("RANK"), os.environ.get("WORLD_SIZE")
        if rank is None or world is None:
            return 0, 1
        text, source = f"{rank}/{world}", "RANK/WORLD_SIZE"
    else:
        source = "--shard"
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise UserError(f"{source} {text!r} is not of the form i/n (e.g. 0/4).") from None
    if count < 1 or not 0 <= index < count:
        raise UserError(f"{source} {text!r}: need 0 ≤ i < n (shards are numbered from 0).")
    return index, count


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


def fingerprint(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Bench:
    """A grid run in one output folder by one process (one shard of `count`)."""

    def __init__(self, grid: Grid, recipes: Sequence[BenchRecipe], plugins: PluginSet, grid_path: Path,
                 output: Path | None = None, shard: tuple[int, int] = (0, 1), force: bool = False,
                 quiet: bool = False) -> None:
        self.grid, self.recipes, self.plugins, self.registry = grid, list(recipes), plugins, plugins.registry
        self.grid_path = grid_path
        self.out = output if output is not None else grid_path.parent / "bench" / (grid.name or grid_path.stem)
        self.shard, self.force, self.quiet = shard, force, quiet
        self.by_label = {r.label: r for r in self.recipes}
        self._generators: dict[str, GeneratorNetwork] = {}
        self._run: tuple[Cell, Any] | None = None

    # ---- planning -------------------------------------------------------------------------
    def resolve_images(self) -> list[InputImage]:
        """The clean images (a dataset is materialised under `<out>/inputs`), sorted, limited."""
        images = self.grid.images
        if images.type is not None:
            inputs = Inputs(dataset=ComponentSpec(type=images.type, params=images.params), split=images.split,
                            limit=self.grid.limit)
        else:
            inputs = Inputs(path=images.path, limit=self.grid.limit)
        probe = self.recipes[0].recipe.model_copy(update={"inputs": inputs})
        try:
            return resolve_inputs(probe, self.registry, self.grid_path.parent, self.out / "inputs")
        except RecipeError as exc:
            raise RecipeError(exc.detail, file=str(self.grid_path), path="images",
                              suggestion="Relative paths are relative to the grid file.") from None

    def plan(self) -> list[Batch]:
        """Every batch of the grid, in manifest order (recipe, task, level, seed, then image)."""
        self.images = self.resolve_images()
        batches: list[Batch] = []
        for bench_recipe in sorted(self.recipes, key=lambda r: r.label):
            size = self.grid.batch_size or bench_recipe.recipe.batch_size
            for task in sorted(self.grid.task_names):
                levels = [COMBINATION_LEVEL] if is_combination(task) else self.grid.sorted_levels
                for level in levels:
                    for seed in sorted(self.grid.seeds):
                        cell = Cell(bench_recipe.label, task, level, seed)
                        for start in range(0, len(self.images), size):
                            batches.append(Batch(len(batches), cell, self.images[start:start + size]))
        return batches

    def cell_recipe(self, cell: Cell) -> Recipe:
        """The recipe as the grid runs it in `cell`: the grid's degradation, seed, images and metrics."""
        recipe = self.by_label[cell.recipe].recipe
        update = {
            "degradation": DegradationSpec(task=cell.task, level=cell.level), "tasks": None, "seed": cell.seed,
            "inputs": Inputs(mode="benchmark", path=str(self.images[0].path.parent.resolve())),
            "metrics": self.grid.metric_specs,
            "outputs": recipe.outputs.model_copy(update={"dir": str(cell.folder(self.out))}),
        }
        if self.grid.batch_size is not None:
            update["batch_size"] = self.grid.batch_size
        if self.grid.device is not None:
            update["device"] = self.grid.device
        return recipe.model_copy(update=update)

    def manifest(self, batches: Sequence[Batch]) -> dict[str, Any]:
        recipes = {r.label: {"file": str(r.path), "fingerprint": fingerprint(r.recipe.model_dump(mode="json"))}
                   for r in self.recipes}
        return {
            "grid_file": str(self.grid_path),
            "grid": self.grid.model_dump(mode="json"),
            "recipes": recipes,
            "images": [{"id": i.image_id, "file": str(i.path)} for i in self.images],
            "batches": [{"index": b.index, "cell": b.cell.key, "images": [i.image_id for i in b.images]}
                        for b in batches],
            "items": [item.key for b in batches for item in b.items],
        }

    def check_previous(self, manifest: dict[str, Any]) -> None:
        """Refuse to mix outputs of a changed recipe into a resumed run (unless --force)."""
        path = self.out / "manifest.json"
        if self.force or not path.is_file():
            return
        try:
            previous = json.loads(path.read_text()).get("recipes", {})
        except (OSError, ValueError):
            return
        for label, info in manifest["recipes"].items():
            old = previous.get(label)
            if old is not None and old.get("fingerprint") != info["fingerprint"]:
                raise UserError(f"{self.out}: the recipe {label!r} ({info['file']}) changed since these outputs were "
                                "made, so resuming would mix results. Use --force to redo the grid, or another --output.")

    # ---- execution ------------------------------------------------------------------------
    def cell_run(self, cell: Cell):
        """The RecipeRun of `cell`, prepared; the generator is loaded once per process and spec."""
        from restorefw.run import RecipeRun, load_generator

        if self._run is not None and self._run[0] == cell:
            return self._run[1]
        recipe = self.cell_recipe(cell)
        device = resolve_device(recipe.device)
        key = fingerprint([recipe.generator.model_dump(mode="json"), str(device)])
        if key not in self._generators:
            self._generators[key] = load_generator(recipe, self.registry, device)
        run = RecipeRun(recipe, self.plugins, self.by_label[cell.recipe].path, cell.folder(self.out), quiet=True,
                        G=self._generators[key])
        run.prepare()
        if not (cell.folder(self.out) / "manifest.json").is_file():
            atomic_write_json(cell.folder(self.out) / "manifest.json", run.manifest())
        self._run = (cell, run)
        return run

    def execute(self, after_batch: Callable[[list[WorkItem]], None] | None = None) -> Outcome:
        """Restore this shard's unfinished items, then gather when the whole manifest is done."""
        _select_cuda_device()
        batches = self.plan()
        manifest = self.manifest(batches)
        self.check_previous(manifest)
        self.out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.out / "manifest.json", manifest)
        index, count = self.shard
        mine = [b for b in batches if b.index % count == index]
        outcome = Outcome(total=len(manifest["items"]))
        todo = []
        for batch in mine:
            pending = [i for i in batch.images if self.force or not is_done(batch.cell.folder(self.out), i.image_id)]
            outcome.skipped += len(batch.images) - len(pending)
            if pending:
                todo.append((batch, pending))
        self._say(f"bench {self.out}: {len(batches)} batches, {outcome.total} items; shard {index}/{count}: "
                  f"{sum(len(p) for _, p in todo)} to do, {outcome.skipped} already done.")
        with Progress(enabled=not self.quiet) as progress:
            for n, (batch, pending) in enumerate(todo):
                self._say(f"[{n + 1}/{len(todo)}] {batch.cell.key}: {', '.join(i.image_id for i in pending)}")
                outcome.problems += self.run_batch(batch, pending, progress)
                written = [WorkItem(batch.cell, i.image_id) for i in pending
                           if is_done(batch.cell.folder(self.out), i.image_id)]
                outcome.executed += [item.key for item in written]
                if after_batch is not None:
                    after_batch(written)
        outcome.done = sum(is_done(b.cell.folder(self.out), i.image_id) for b in batches for i in b.images)
        if outcome.done == outcome.total:
            outcome.gathered = self.gather_once(batches)
        else:
            self._say(f"{outcome.done} of {outcome.total} items are done; the tables are written by the process "
                      "that finishes the last item (rerun, or run the other shards).")
        return outcome

    def run_batch(self, batch: Batch, pending: Sequence[InputImage], progress: Progress) -> list[str]:
        """Restore a whole batch (so its composition never changes) and write only its pending items."""
        run = self.cell_run(batch.cell)
        keep = {i.image_id for i in batch.images} - {i.image_id for i in pending}
        try:
            return [f"{batch.cell.key}: {p}" for p in run.restore_chunk(batch.images, progress, keep=keep)]
        except UserError:
            raise
        except RestoreError as exc:
            return [f"{batch.cell.key}/{i.image_id}: {exc}" for i in pending]

    # ---- gathering ------------------------------------------------------------------------
    def gather_once(self, batches: Sequence[Batch]) -> bool:
        """Gather unless another live process holds the gather lock; True when this one gathered."""
        lock = self.out / ".gather.lock"
        me = f"{socket.gethostname()} {os.getpid()}"
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _lock_alive(lock):
                self._say(f"another process ({lock.read_text().strip()}) is gathering the tables.")
                return False
            lock.unlink(missing_ok=True)
            return self.gather_once(batches)
        with os.fdopen(fd, "w") as handle:
            handle.write(me)
        try:
            self.gather(batches)
        finally:
            lock.unlink(missing_ok=True)
        return True

    def gather(self, batches: Sequence[Batch]) -> dict[str, Any]:
        """Average paired metrics, compute set metrics, write results.json and the tables."""
        from restorefw.bench_tables import write_tables

        device = resolve_device(self.grid.device or "auto")
        slots = build_metrics(self.grid.metric_specs, self.registry, device)
        cells: dict[tuple[str, str, str], list[Cell]] = {}
        for batch in batches:
            key = (batch.cell.recipe, batch.cell.task, batch.cell.level)
            if batch.cell not in cells.setdefault(key, []):
                cells[key].append(batch.cell)
        rows = []
        for (recipe, task, level), seeds in cells.items():
            rows.append(self._gather_cell(recipe, task, level, seeds, slots))
        metrics = {s.name: {"lower_is_better": s.lower_is_better if s.metric is not None
                            else _direction(self.registry, s.name), "unavailable": s.unavailable}
                   for s in slots}
        results = {"grid": self.grid.name or self.grid_path.stem, "recipes": [r.label for r in self.recipes],
                   "images": len(self.images), "seeds": self.grid.seeds, "metrics": metrics, "cells": rows}
        atomic_write_json(self.out / "results.json", results)
        write_tables(self.out, results, self.grid, [r.label for r in self.recipes])
        self._say(f"wrote {self.out / 'tables.md'}, tables.csv, tables.tex and results.json")
        return results

    def _gather_cell(self, recipe: str, task: str, level: str, cells: Sequence[Cell], slots) -> dict[str, Any]:
        paired: dict[str, dict[str, list[float]]] = {}
        set_values: dict[str, list[float]] = {}
        for cell in cells:
            folder = cell.folder(self.out)
            records = [read_done(folder, i.image_id) for i in self.images]
            for record in records:
                for group, values in record["metrics"].items():
                    for name, value in values.items():
                        if value is not None:
                            paired.setdefault(group, {}).setdefault(name, []).append(value)
            preds = [read_image(image_dir(folder, r["image"]) / "restored.png", 3)[None] for r in records]
            refs = [read_image(image_dir(folder, r["image"]) / "ground_truth.png", 3)[None] for r in records]
            for slot in slots:
                try:
                    for name, value in set_scores([slot], preds, refs).items():
                        set_values.setdefault(name, []).append(value)
                except UserError as exc:  # e.g. images smaller than PFID's crops: report, keep the tables
                    slot.metric, slot.unavailable = None, str(exc)
        means = {group: {name: sum(v) / len(v) for name, v in by_name.items()} for group, by_name in paired.items()}
        restored = dict(means.get("restored", {}))
        restored.update({name: sum(v) / len(v) for name, v in set_values.items()})
        return {"recipe": recipe, "task": task, "level": level, "seeds": [c.seed for c in cells],
                "values": restored, "fidelity": means.get("fidelity", {}), "baseline": means.get("baseline", {})}

    def _say(self, message: str) -> None:
        if not self.quiet:
            prefix = f"[shard {self.shard[0]}/{self.shard[1]}] " if self.shard[1] > 1 else ""
            print(prefix + message, file=sys.stderr)


def _direction(registry: Registry, name: str) -> bool | None:
    try:
        return bool(registry.get("metric", name).lower_is_better)
    except RestoreError:
        return None


def _lock_alive(lock: Path) -> bool:
    """Whether the process named in a gather lock still runs (locks of other hosts count as alive)."""
    try:
        host, pid = lock.read_text().split()
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def _select_cuda_device() -> None:
    """Under torchrun, each process uses the GPU of its LOCAL_RANK."""
    local = os.environ.get("LOCAL_RANK")
    if local is not None and torch.cuda.is_available() and torch.cuda.device_count() > 1:
        torch.cuda.set_device(int(local) % torch.cuda.device_count())


def run_bench(grid_path: str | Path, plugins: PluginSet, output: Path | None = None, shard: str | None = None,
              force: bool = False, quiet: bool = False,
              after_batch: Callable[[list[WorkItem]], None] | None = None) -> Outcome:
    """Run (this process's shard of) a grid file; raise WorkError when items failed."""
    grid_path = Path(grid_path)
    grid, recipes = load_grid(grid_path, plugins.registry)
    bench = Bench(grid, recipes, plugins, grid_path, output, parse_shard(shard), force, quiet)
    outcome = bench.execute(after_batch)
    for problem in outcome.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if outcome.problems:
        raise WorkError(f"{len(outcome.problems)} item(s) could not be restored (listed above); the others are in "
                        f"{bench.out}. Fix the cause and rerun: finished items are kept.")
    return outcome
