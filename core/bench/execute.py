"""Running (one shard of) a grid: restore the shard's unfinished batches into the cells' run folders, then
gather when the whole manifest is done."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from restorefw import threads
from restorefw.bench.gather import gather, gather_once
from restorefw.bench.grid import BenchRecipe, Grid, load_grid
from restorefw.bench.plan import Batch, Cell, WorkItem, cells_of, parse_shard, plan
from restorefw.build import Generators, build
from restorefw.device import resolve_device
from restorefw.errors import RecipeError, RestoreError, UserError, WorkError
from restorefw.imageio import make_folder, remove_stale_temps
from restorefw.inputs import InputImage, resolve_inputs
from restorefw.pipeline import Pipeline
from restorefw.plugins import PluginSet
from restorefw.progress import Progress
from restorefw.recipe import Recipe
from restorefw.run import run_manifest
from restorefw.runfolder import RunFolder


@dataclass
class Outcome:
    """What one process did."""

    executed: list[str] = field(default_factory=list)  # item keys restored and written by this process
    skipped: int = 0  # items of this shard already done
    done: int = 0  # items of the whole manifest done at the end
    total: int = 0
    gathered: bool = False
    problems: list[str] = field(default_factory=list)
    folder: Path | None = None  # the bench's output folder


@dataclass
class CellRun:
    """A cell's recipe, built, with the run folder it writes."""

    recipe: Recipe
    pipeline: Pipeline
    folder: RunFolder


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
        self.generators = Generators(self.registry)
        self.images: list[InputImage] = []
        self._cell: tuple[Cell, CellRun] | None = None

    def resolve_images(self) -> list[InputImage]:
        """The clean images (a dataset is materialised under `<out>/inputs`), sorted, limited."""
        probe = self.recipes[0].recipe.model_copy(update={"inputs": self.grid.images.as_inputs(self.grid.limit)})
        try:
            return resolve_inputs(probe, self.registry, self.grid_path.parent, self.out / "inputs")
        except RecipeError as exc:
            raise RecipeError(exc.detail, file=str(self.grid_path), path="images",
                              suggestion="Relative paths are relative to the grid file.") from None

    def cell_recipe(self, cell: Cell) -> Recipe:
        """The recipe as the grid runs it in `cell`: the grid's degradation, seed, images and metrics."""
        recipe = self.by_label[cell.recipe].recipe
        inputs = self.grid.images.as_inputs(self.grid.limit)
        update: dict[str, Any] = {
            "degradation": self.grid.degradation_of(cell.task, cell.level), "tasks": None, "seed": cell.seed,
            "inputs": inputs.model_copy(update={"mode": "benchmark", "fit": recipe.inputs.fit}),
            "metrics": self.grid.metric_specs,
            "outputs": recipe.outputs.model_copy(update={"dir": str(cell.folder(self.out))}),
        }
        if self.grid.batch_size is not None:
            update["batch_size"] = self.grid.batch_size
        if self.grid.device is not None:
            update["device"] = self.grid.device
        if self.grid.threads is not None:
            update["threads"] = self.grid.threads
        return recipe.model_copy(update=update)

    def manifest(self, batches: Sequence[Batch]) -> dict[str, Any]:
        return {
            "grid_file": str(self.grid_path),
            "grid": self.grid.model_dump(mode="json"),
            "recipes": {r.label: {"file": str(r.path), "recipe": r.recipe.model_dump(mode="json")}
                        for r in self.recipes},
            "images": [{"id": i.image_id, "file": str(i.path)} for i in self.images],
            "batches": [{"index": b.index, "cell": b.cell.key, "images": [i.image_id for i in b.images]}
                        for b in batches],
            "items": [item.key for b in batches for item in b.items],
        }

    def refuse_stale(self, batches: Sequence[Batch]) -> None:
        """The run folders' resume rule, for every cell: a changed recipe is not mixed into finished items."""
        ids = [i.image_id for i in self.images]
        for cell in cells_of(batches):
            RunFolder(cell.folder(self.out)).refuse_stale(self.cell_recipe(cell).model_dump(mode="json"), ids)

    def cell_run(self, cell: Cell) -> CellRun:
        """The cell's recipe built (generators are loaded once per process), its manifest written."""
        if self._cell is not None and self._cell[0] == cell:
            return self._cell[1]
        recipe, path = self.cell_recipe(cell), self.by_label[cell.recipe].path
        try:
            built = build(recipe, self.registry, resolve_device(recipe.device), self.generators)
        except RecipeError as exc:
            raise exc.located(str(path)) from None
        for warning in built.warnings:
            self._say(f"warning: {cell.recipe}: {warning}")
        folder = RunFolder(cell.folder(self.out))
        folder.write_manifest(run_manifest(recipe, path, built, self.images, self.plugins))
        run = CellRun(recipe, Pipeline(built, "benchmark", recipe.seed, recipe.outputs.save_phases, recipe.inputs.fit),
                      folder)
        self._cell = (cell, run)
        return run

    def execute(self, after_batch: Callable[[list[WorkItem]], None] | None = None) -> Outcome:
        """Restore this shard's unfinished items, then gather when the whole manifest is done."""
        select_cuda_device()
        self.images = self.resolve_images()
        batches = plan(self.grid, self.recipes, self.images)
        manifest = self.manifest(batches)
        if not self.force:
            self.refuse_stale(batches)
        make_folder(self.out)
        stale = remove_stale_temps(self.out)
        if stale:
            self._say(f"Removed {stale} temporary file(s) that an interrupted run left in {self.out}.")
        RunFolder(self.out).write_manifest(manifest)
        index, count = self.shard
        mine = [b for b in batches if b.index % count == index]
        outcome = Outcome(total=len(manifest["items"]), folder=self.out)
        todo = []
        for batch in mine:
            folder = RunFolder(batch.cell.folder(self.out))
            pending = [i for i in batch.images if self.force or not folder.is_done(i.image_id)]
            outcome.skipped += len(batch.images) - len(pending)
            if pending:
                todo.append((batch, pending))
        self._say(f"bench {self.out}: {len(batches)} batches, {outcome.total} items; shard {index}/{count}: "
                  f"{sum(len(p) for _, p in todo)} to do, {outcome.skipped} already done.")
        with Progress(enabled=not self.quiet) as progress:
            for n, (batch, pending) in enumerate(todo):
                self._say(f"[{n + 1}/{len(todo)}] {batch.cell.key}: {', '.join(i.image_id for i in pending)}")
                outcome.problems += self.run_batch(batch, pending, progress)
                folder = RunFolder(batch.cell.folder(self.out))
                written = [WorkItem(batch.cell, i.image_id) for i in pending if folder.is_done(i.image_id)]
                outcome.executed += [item.key for item in written]
                if after_batch is not None:
                    after_batch(written)
        outcome.done = sum(RunFolder(b.cell.folder(self.out)).is_done(i.image_id) for b in batches for i in b.images)
        if outcome.done == outcome.total:
            outcome.gathered = gather_once(self.out, lambda: self.gather(batches), self._say)
        else:
            self._say(f"{outcome.done} of {outcome.total} items are done; the tables are written by the process "
                      "that finishes the last item (rerun, or run the other shards).")
        return outcome

    def dry_run(self) -> list[str]:
        """What `execute` would do, restoring and writing nothing (a dataset's images are materialised):
        one line per cell of this shard, then the totals."""
        self.images = self.resolve_images()
        batches = plan(self.grid, self.recipes, self.images)
        index, count = self.shard
        cells: dict[Cell, list[int]] = {}  # cell → [images, batches, done]
        for batch in batches:
            if batch.index % count != index:
                continue
            folder = RunFolder(batch.cell.folder(self.out))
            entry = cells.setdefault(batch.cell, [0, 0, 0])
            entry[0] += len(batch.images)
            entry[1] += 1
            entry[2] += 0 if self.force else sum(folder.is_done(i.image_id) for i in batch.images)
        lines = [f"{cell.key}: {n} image(s) in {b} batch(es), {d} done" for cell, (n, b, d) in cells.items()]
        items, done = sum(e[0] for e in cells.values()), sum(e[2] for e in cells.values())
        lines.append(f"{self.out}: {len(batches)} batches, {sum(len(b.images) for b in batches)} items in "
                     f"{len(cells_of(batches))} cells; shard {index}/{count}: {len(cells)} cells, {items - done} "
                     f"item(s) to do, {done} already done. Nothing was run.")
        return lines

    def run_batch(self, batch: Batch, pending: Sequence[InputImage], progress: Progress) -> list[str]:
        """Restore a whole batch (so its composition never changes) and write only its pending items."""
        run = self.cell_run(batch.cell)
        threads.apply(run.recipe.threads)
        finished = {i.image_id for i in batch.images} - {i.image_id for i in pending}
        try:
            result, problems = run.pipeline.restore(batch.images, progress)
            if result is not None:
                problems += run.folder.write_batch(result, run.recipe.outputs.grid, run.pipeline.score, finished)
        except UserError:
            raise
        except RestoreError as exc:
            return [f"{batch.cell.key}/{i.image_id}: {exc}" for i in pending]
        return [f"{batch.cell.key}: {p}" for p in problems]

    def gather(self, batches: Sequence[Batch]) -> dict[str, Any]:
        results = gather(self.out, self.grid, self.grid.name or self.grid_path.stem, [r.label for r in self.recipes],
                         [i.image_id for i in self.images], cells_of(batches), self.registry)
        self._say(f"wrote {self.out / 'tables.md'}, tables.csv, tables.tex and results.json")
        return results

    def _say(self, message: str) -> None:
        if not self.quiet:
            prefix = f"[shard {self.shard[0]}/{self.shard[1]}] " if self.shard[1] > 1 else ""
            print(prefix + message, file=sys.stderr)


def select_cuda_device() -> None:
    """Under torchrun, each process uses the GPU of its LOCAL_RANK."""
    local = os.environ.get("LOCAL_RANK")
    if local is not None and torch.cuda.is_available() and torch.cuda.device_count() > 1:
        torch.cuda.set_device(int(local) % torch.cuda.device_count())


def run_bench(grid_path: str | Path, plugins: PluginSet, output: Path | None = None, shard: str | None = None,
              force: bool = False, quiet: bool = False,
              after_batch: Callable[[list[WorkItem]], None] | None = None,
              threads: int | str | None = None, dry_run: bool = False) -> Outcome:
    """Run (this process's shard of) a grid file; raise WorkError when items failed. `threads` (a number or
    "auto") overrides the grid's and the recipes' `threads`; `dry_run` prints the plan and runs nothing."""
    grid_path = Path(grid_path)
    grid, recipes = load_grid(grid_path, plugins.registry)
    if threads is not None:
        grid = grid.model_copy(update={"threads": threads})
    bench = Bench(grid, recipes, plugins, grid_path, output, parse_shard(shard), force, quiet)
    if dry_run:
        for line in bench.dry_run():
            print(line)
        return Outcome(total=0, folder=None)
    outcome = bench.execute(after_batch)
    for problem in outcome.problems:
        print(f"warning: {problem}", file=sys.stderr)
    if outcome.problems:
        raise WorkError(f"{len(outcome.problems)} item(s) could not be restored (listed above); the others are in "
                        f"{bench.out}. Fix the cause and rerun: finished items are kept.")
    return outcome
