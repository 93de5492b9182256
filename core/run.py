"""`restorefw run`: restore a recipe's images in batches, write every output atomically, resume."""

from __future__ import annotations

import importlib.metadata as md
import platform
import re
import sys
from pathlib import Path
from typing import Any, Sequence

import restorefw
from restorefw import threads
from restorefw.build import Built, Generators, build
from restorefw.degradation import Degradation
from restorefw.device import resolve_device
from restorefw.errors import RecipeError, RestoreError, UserError, WorkError
from restorefw.evaluation import metric_entry
from restorefw.imageio import atomic_write_json, make_folder, remove_stale_temps
from restorefw.inputs import InputImage, resolve_inputs
from restorefw.per_input import batches, resolve_per_input
from restorefw.pipeline import Pipeline
from restorefw.plugins import PluginSet
from restorefw.progress import Progress
from restorefw.recipe import Recipe
from restorefw.run_summary import print_summary, print_task_summary
from restorefw.runfolder import RunFolder, means, not_measured, paired_values


def dependencies() -> list[str]:
    """The distributions restorefw requires (its metadata), whose versions a manifest records."""
    try:
        requires = md.requires("restorefw") or []
    except md.PackageNotFoundError:
        return []
    return [re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0] for r in requires if "extra ==" not in r]


def output_root(recipe: Recipe, recipe_path: Path | None, output: Path | None) -> Path:
    """`--output`, else `outputs.dir` (relative to the recipe file's folder)."""
    if output is not None:
        return output
    out, base = Path(recipe.outputs.dir), recipe_path.parent if recipe_path is not None else Path.cwd()
    return out if out.is_absolute() else base / out


def run_manifest(recipe: Recipe, recipe_path: Path | None, built: Built, images: Sequence[InputImage],
                 plugins: PluginSet, per_image: dict[str, Degradation] | None = None) -> dict[str, Any]:
    """What `manifest.json` records: the recipe, what it resolved to, the images, versions and plugins."""
    versions: dict[str, str | None] = {}
    for dist in dependencies():
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            versions[dist] = None
    G, restorer = built.generator, built.restorer
    return {
        "restorefw": restorefw.__version__,
        "recipe_file": str(recipe_path) if recipe_path else None,
        "recipe": recipe.model_dump(mode="json"),
        "resolved": {
            "device": str(built.device),
            "precision": built.restorer.precision,
            "loss_precision": built.restorer.loss_precision,
            "generator": {"resolution": G.img_resolution, "num_ws": G.num_ws, "w_dim": G.w_dim,
                          "channels": G.img_channels},
            "degradation": (built.degradation.params.model_dump(mode="json")
                            if built.degradation is not None else None),
            "losses": [{"type": t.name, "weight": t.weight, "params": t.loss.params.model_dump(mode="json")}
                       for t in restorer.losses],
            "phases": [{"name": p.name, "steps": p.steps, "lr": p.lr,
                        "optimizer": p.optimizer.name, "params": p.optimizer.params.model_dump(mode="json")}
                       for p in restorer.phases],
        },
        "seed": recipe.seed,
        "images": [{"id": i.image_id, "file": str(i.path), "mask": str(i.mask) if i.mask else None,
                    **({"degradation": per_image[i.image_id].describe()} if per_image and i.image_id in per_image
                       else {})}
                   for i in images],
        "versions": {"python": platform.python_version(), **versions},
        "plugins": [p.as_dict() for p in plugins.plugins],
        "notes": built.notes,
    }


class RecipeRun:
    """One execution of a recipe into one run folder: build, check resume, restore batch by batch, summarise."""

    def __init__(self, recipe: Recipe, plugins: PluginSet, recipe_path: Path | None, out: Path,
                 generators: Generators, force: bool = False, limit: int | None = None, quiet: bool = False,
                 summary: bool = True) -> None:
        self.recipe, self.plugins, self.recipe_path, self.generators = recipe, plugins, recipe_path, generators
        self.folder = RunFolder(out)
        self.force, self.limit, self.quiet, self.summary = force, limit, quiet, summary and not quiet
        self.base = recipe_path.parent if recipe_path is not None else Path.cwd()

    @property
    def out(self) -> Path:
        return self.folder.root

    def prepare(self) -> tuple[list[InputImage], Built]:
        """The input images and the built recipe; recipe errors name the recipe file."""
        try:
            images = resolve_inputs(self.recipe, self.plugins.registry, self.base, self.out / "inputs")
            if self.limit is not None:
                images = images[: self.limit]
            built = build(self.recipe, self.plugins.registry, resolve_device(self.recipe.device), self.generators)
        except RecipeError as exc:
            raise exc.located(str(self.recipe_path) if self.recipe_path else None) from None
        return images, built

    def execute(self) -> dict[str, Any]:
        images, built = self.prepare()
        if not self.quiet:
            for warning in built.warnings:
                print(f"warning: {warning}", file=sys.stderr)
        ids = [item.image_id for item in images]
        per_image = {} if self.recipe.inputs.mode != "restore" else resolve_per_input(
            built.degradation, images, (built.generator.img_resolution,) * 2, built.generator.img_channels,
            self.recipe.inputs.fit, self.quiet)
        make_folder(self.out)
        stale = remove_stale_temps(self.out)
        if stale and not self.quiet:
            print(f"Removed {stale} temporary file(s) that an interrupted run left in {self.out}.", file=sys.stderr)
        manifest = run_manifest(self.recipe, self.recipe_path, built, images, self.plugins, per_image)
        if not self.force:
            self.folder.refuse_stale(manifest["recipe"], ids)
        self.folder.write_manifest(manifest)
        todo = [item for item in images if self.force or not self.folder.is_done(item.image_id)]
        skipped = len(images) - len(todo)
        if skipped and not self.quiet:
            print(f"Resuming: {skipped} of {len(images)} images already finished in {self.out} "
                  "(use --force to redo them).", file=sys.stderr)
        pipeline = Pipeline(built, self.recipe.inputs.mode, self.recipe.seed, self.recipe.outputs.save_phases,
                            self.recipe.inputs.fit, per_image)
        problems: list[str] = []
        with Progress(enabled=not self.quiet) as progress:
            shape = (built.generator.img_channels, *(built.generator.img_resolution,) * 2)
            for chunk in batches(todo, per_image, self.recipe.batch_size, shape):
                threads.apply(self.recipe.threads)
                problems += self.restore_chunk(pipeline, chunk, progress)
        results = self.summarise(ids, built)
        for message in problems:
            print(f"warning: {message}", file=sys.stderr)
        if self.summary:
            print_summary(results)
        if problems:
            raise WorkError(f"{len(problems)} image(s) could not be restored (listed above); the others are in "
                            f"{self.out}.")
        return results

    def restore_chunk(self, pipeline: Pipeline, chunk: Sequence[InputImage], progress: Progress) -> list[str]:
        """Restore and write one batch; the problems. When a plugin fails inside a batch of several images,
        each is retried alone, so that only the images it fails on are lost."""
        try:
            batch, problems = pipeline.restore(chunk, progress)
            if batch is not None:
                problems += self.folder.write_batch(batch, self.recipe.outputs.grid, pipeline.score)
                self.say_notes(batch.notes)
            return problems
        except UserError:
            raise
        except RestoreError as exc:
            if len(chunk) == 1:
                return [f"{chunk[0].image_id}: {exc}"]
            return [problem for item in chunk for problem in self.restore_chunk(pipeline, [item], progress)]

    def say_notes(self, notes: dict[str, list[str]]) -> None:
        """What reading each input changed (e.g. `photo: EXIF orientation 6 applied`), also in its done.json."""
        if self.quiet:
            return
        for image_id, lines in notes.items():
            for line in lines:
                print(f"note: {image_id}: {line}", file=sys.stderr)

    def summarise(self, ids: Sequence[str], built: Built) -> dict[str, Any]:
        """`results.json`: the means of the finished images' scores, set metrics, per-image scores."""
        records = self.folder.records(ids)
        reasons = not_measured(records)
        set_metrics = {}
        if self.recipe.inputs.mode == "benchmark" and records:
            set_metrics = self.folder.set_scores(records, built.metrics, built.generator.img_channels)
        results = {
            "recipe": self.recipe.name or (self.recipe_path.stem if self.recipe_path else None),
            "mode": self.recipe.inputs.mode,
            "images": len(records),
            "metrics": {slot.name: metric_entry(slot, slot.lower_is_better, reasons.get(slot.name))
                        for slot in built.metrics},
            "mean": means(paired_values(records)),
            "set": set_metrics,
            "per_image": {r["image"]: r["metrics"] for r in records},
            "seconds_per_image": (sum(r["seconds"] for r in records) / len(records)) if records else None,
            "notes": built.notes,
        }
        atomic_write_json(self.out / "results.json", results)
        return results


def run_recipe(recipe: Recipe, plugins: PluginSet, recipe_path: Path | None = None, output: Path | None = None,
               force: bool = False, limit: int | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run a recipe end to end and return its results (also written to results.json).

    A recipe with `tasks:` runs once per task into `<output>/<task>/`, sharing one loaded generator,
    and writes a combined `results.json` at the output root."""
    root = output_root(recipe, recipe_path, output)
    generators = Generators(plugins.registry)
    if recipe.tasks is None:
        return RecipeRun(recipe, plugins, recipe_path, root, generators, force, limit, quiet).execute()
    by_task: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(recipe.task_names):
        run = RecipeRun(recipe.for_task(index), plugins, recipe_path, root / name, generators, force, limit, quiet,
                        summary=False)
        if not quiet:
            print(f"[{index + 1}/{len(recipe.task_names)}] {name}", file=sys.stderr)
        by_task[name] = run.execute()
    combined = {"recipe": recipe.name, "tasks": by_task}
    atomic_write_json(root / "results.json", combined)
    if not quiet:
        print_task_summary(by_task)
    return combined
