"""Planning a grid: cells (recipe, task, level, seed), their batches in manifest order, and shards."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from restorefw.bench.grid import BenchRecipe, Grid
from restorefw.errors import UserError
from restorefw.inputs import InputImage


@dataclass(frozen=True)
class Cell:
    """One (recipe, task, level, seed) combination; its images are restored with one setting."""

    recipe: str
    task: str
    level: str
    seed: int

    @property
    def key(self) -> str:
        return f"{self.recipe}/{self.task}/{self.level or '-'}/seed{self.seed}"

    def folder(self, root: Path) -> Path:
        task = f"{self.task}-{self.level}" if self.level else self.task
        return root / "cells" / self.recipe / task.replace(":", "_") / f"seed{self.seed}"


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


def plan(grid: Grid, recipes: Sequence[BenchRecipe], images: Sequence[InputImage]) -> list[Batch]:
    """Every batch of the grid, in manifest order (recipe, task, level, seed, then image)."""
    batches: list[Batch] = []
    for bench_recipe in sorted(recipes, key=lambda r: r.label):
        size = grid.batch_size or bench_recipe.recipe.batch_size
        for task in sorted(grid.task_names):
            for level in grid.levels_of(task):
                for seed in sorted(grid.seeds):
                    cell = Cell(bench_recipe.label, task, level, seed)
                    for start in range(0, len(images), size):
                        batches.append(Batch(len(batches), cell, list(images[start:start + size])))
    return batches


def cells_of(batches: Sequence[Batch]) -> list[Cell]:
    """The distinct cells of `batches`, in order."""
    return list(dict.fromkeys(batch.cell for batch in batches))
