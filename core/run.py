"""`restorefw run`: restore a recipe's images in batches, write every output atomically, resume."""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import torch
import torch.nn.functional as F

import restorefw
from restorefw.composition import build_degradation as compose
from restorefw.degradation import Degradation, DegradationOperator, ImageKey, check_output
from restorefw.device import resolve_device
from restorefw.engine import Identity, Restorer, expand_keys
from restorefw.errors import RecipeError, RestoreError, UserError, WorkError
from restorefw.evaluation import build_metrics, paired_scores, set_scores
from restorefw.metric import like
from restorefw.imageio import atomic_write_json, read_image, write_png
from restorefw.inputs import InputImage, resolve_inputs
from restorefw.outputs import (image_dir, is_done, naive_baseline, read_done, recipe_changes, write_done,
                               write_grid)
from restorefw.generator import GeneratorNetwork, check_network
from restorefw.plugins import PluginSet
from restorefw.progress import Progress
from restorefw.recipe import Recipe
from restorefw.registry import Registry


def load_generator(recipe: Recipe, registry: Registry, device: torch.device) -> GeneratorNetwork:
    """The recipe's frozen generator on `device`."""
    generator = registry.create("generator", recipe.generator.type, recipe.generator.params, "generator")
    G = generator.load(device)
    entry = registry.entry("generator", recipe.generator.type)
    check_network(G, f"generator {entry.cls.name!r} of plugin {entry.plugin!r}")
    return G


def build_degradation(recipe: Recipe, registry: Registry) -> Degradation | None:
    """The recipe's degradation component: one task, or the ordered composition of several."""
    return compose(recipe.degradation, registry, "degradation")


def _resize(image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(image.shape[-2:]) == tuple(size):
        return image
    return F.interpolate(image[None], size=size, mode="bicubic", align_corners=False, antialias=True)[0].clamp(0, 1)


class RecipeRun:
    """One execution of a recipe into an output folder."""

    def __init__(self, recipe: Recipe, plugins: PluginSet, recipe_path: Path | None, output: Path | None,
                 force: bool = False, limit: int | None = None, quiet: bool = False,
                 G: GeneratorNetwork | None = None, summary: bool = True) -> None:
        self.recipe, self.plugins, self.registry = recipe, plugins, plugins.registry
        self.summary = summary and not quiet
        self.G = G
        self.base = recipe_path.parent if recipe_path is not None else Path.cwd()
        self.recipe_path = recipe_path
        out = output or Path(recipe.outputs.dir)
        self.out = out if out.is_absolute() or output is not None else self.base / out
        self.force, self.limit, self.quiet = force, limit, quiet
        self.device = resolve_device(recipe.device)
        self.notes: list[str] = []

    def prepare(self) -> None:
        try:
            self._prepare()
        except RecipeError as exc:
            raise exc.located(str(self.recipe_path) if self.recipe_path else None) from None

    def _prepare(self) -> None:
        recipe = self.recipe
        self.images = resolve_inputs(recipe, self.registry, self.base, self.out / "inputs")
        if self.limit is not None:
            self.images = self.images[: self.limit]
        if self.G is None:
            self.G = load_generator(recipe, self.registry, self.device)
        self.degradation = build_degradation(recipe, self.registry)
        self.restorer = Restorer(recipe, self.registry, self.G, self.device)
        self.metrics = build_metrics(recipe.metrics, self.registry, self.device)
        if self.restorer.uses_random_backbone:
            self.notes.append("a loss uses a RANDOM backbone (backbone: random): scores are not comparable "
                              "to pretrained-LPIPS results")

    @property
    def resolution(self) -> tuple[int, int]:
        return self.G.img_resolution, self.G.img_resolution

    @property
    def degradation_label(self) -> str:
        return f"degradation {self.degradation.label!r}" if self.degradation is not None else "no degradation"

    def operator(self, batch: int, keys: Sequence[ImageKey]) -> DegradationOperator:
        if self.degradation is None:
            return Identity()
        return self.degradation.realize((batch, self.G.img_channels, *self.resolution), keys, self.device)

    def load_batch(self, items: Sequence[InputImage], keys: Sequence[ImageKey]):
        """Targets, ground truths (benchmark mode), the realised operator for the batch, and the one
        the engine optimises through (realised for the K-fold batch when the recipe has an ensemble)."""
        channels = self.G.img_channels
        samples = self.restorer.samples
        operator = self.operator(len(items), keys)
        engine_operator = operator if samples == 1 else self.operator(len(items) * samples, expand_keys(keys, samples))
        size = operator.output_size(*self.resolution)
        expected = (len(items), operator.output_channels(channels), *size)
        if self.recipe.inputs.mode == "benchmark":
            clean = torch.stack([_resize(read_image(item.path, channels), self.resolution) for item in items])
            with torch.no_grad():
                target = operator.true(clean.to(self.device)).cpu()
            check_output(target, expected, self.degradation_label, "the true operator", in_unit_range=True)
            return target, clean, operator, engine_operator
        target = torch.stack([_resize(read_image(item.path, expected[1]), size) for item in items])
        if any(item.mask is not None for item in items):
            masks = torch.stack([(_resize(read_image(item.mask, 1), size).round() if item.mask is not None
                                  else torch.ones(1, *size)) for item in items]).to(self.device)
            operator.set_mask(masks)
            engine_operator.set_mask(masks.repeat_interleave(samples, 0))
        return target, None, operator, engine_operator

    def manifest(self) -> dict[str, Any]:
        import importlib.metadata as md

        versions = {}
        for dist in ("torch", "torchvision", "lpips", "piq", "pydantic", "pluggy", "numpy"):
            try:
                versions[dist] = md.version(dist)
            except md.PackageNotFoundError:
                versions[dist] = None
        return {
            "restorefw": restorefw.__version__,
            "recipe_file": str(self.recipe_path) if self.recipe_path else None,
            "recipe": self.recipe.model_dump(mode="json"),
            "resolved": {
                "device": str(self.device),
                "generator": {"resolution": self.G.img_resolution, "num_ws": self.G.num_ws,
                              "w_dim": self.G.w_dim, "channels": self.G.img_channels},
                "degradation": (self.degradation.params.model_dump(mode="json")
                                if self.degradation is not None else None),
                "losses": [{"type": t.name, "weight": t.weight, "params": t.loss.params.model_dump(mode="json")}
                           for t in self.restorer.losses],
                "phases": [{"name": p.name, "steps": p.steps, "lr": p.lr,
                            "optimizer": p.optimizer.name, "params": p.optimizer.params.model_dump(mode="json")}
                           for p in self.restorer.phases],
            },
            "seed": self.recipe.seed,
            "images": [{"id": i.image_id, "file": str(i.path), "mask": str(i.mask) if i.mask else None}
                       for i in self.images],
            "versions": {"python": platform.python_version(), **versions},
            "plugins": [p.as_dict() for p in self.plugins.plugins],
            "notes": self.notes,
        }

    def execute(self) -> dict[str, Any]:
        self.prepare()
        self.out.mkdir(parents=True, exist_ok=True)
        manifest = self.manifest()
        if not self.force:
            self.refuse_stale_results(manifest["recipe"])
        atomic_write_json(self.out / "manifest.json", manifest)
        todo = [item for item in self.images if self.force or not is_done(self.out, item.image_id)]
        skipped = len(self.images) - len(todo)
        if skipped and not self.quiet:
            print(f"Resuming: {skipped} of {len(self.images)} images already finished in {self.out} "
                  "(use --force to redo them).", file=sys.stderr)
        problems: list[str] = []
        size = self.recipe.batch_size
        with Progress(enabled=not self.quiet) as progress:
            for start in range(0, len(todo), size):
                chunk = todo[start:start + size]
                try:
                    problems += self.restore_chunk(chunk, progress)
                except UserError:
                    raise
                except RestoreError as exc:
                    problems += [f"{item.image_id}: {exc}" for item in chunk]
        results = self.summarise()
        for message in problems:
            print(f"warning: {message}", file=sys.stderr)
        if self.summary:
            print_summary(results)
        if problems:
            raise WorkError(f"{len(problems)} image(s) could not be restored (listed above); the others are in "
                            f"{self.out}.")
        return results

    def refuse_stale_results(self, recipe: dict[str, Any]) -> None:
        """Resuming must not mix finished images of another recipe with this one's."""
        finished = [item.image_id for item in self.images if is_done(self.out, item.image_id)]
        previous = self.out / "manifest.json"
        if not finished or not previous.is_file():
            return
        changes = recipe_changes(recorded_recipe(previous), recipe)
        if changes:
            shown = ", ".join(changes[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")
            raise UserError(
                f"{self.out} holds {len(finished)} finished image(s) made with a different recipe (changed: {shown}); "
                "resuming would mix their results with this recipe's. Rerun with --force to redo them, or set "
                "`outputs.dir` to a new folder.")

    def restore_chunk(self, chunk: Sequence[InputImage], progress: "Progress",
                      keep: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """Restore `chunk` as one batch and write each image; images in `keep` are restored with the
        batch (so its composition is as planned) but their finished outputs are left untouched."""
        problems: list[str] = []
        readable: list[InputImage] = []
        for item in chunk:
            try:
                read_image(item.path, self.G.img_channels)
                readable.append(item)
            except UserError as exc:
                problems.append(str(exc))
        if not readable:
            return problems
        keys = [ImageKey(self.recipe.seed, item.image_id) for item in readable]
        target, clean, operator, engine_operator = self.load_batch(readable, keys)
        started = time.perf_counter()
        label = ", ".join(item.image_id for item in readable)
        result = self.restorer.restore(target, engine_operator, keys, keep_phases=self.recipe.outputs.save_phases,
                                       on_step=progress.callback(label))
        elapsed = time.perf_counter() - started
        baseline = naive_baseline(target, self.resolution)
        if clean is not None:
            baseline = like(baseline, clean)
        with torch.no_grad():
            degraded_restored = operator(result.restored.to(self.device)).cpu().clamp(0, 1)
        scores = {}
        if clean is not None:
            scores["restored"] = paired_scores(self.metrics, result.restored, clean)
            scores["baseline"] = paired_scores(self.metrics, baseline, clean)
        scores["fidelity"] = paired_scores(self.metrics, degraded_restored, target)
        mask = operator.mask.cpu() if operator.mask is not None else None
        for i, item in enumerate(readable):
            if item.image_id in keep:
                continue
            self.write_image(item, i, result, target, clean, baseline, mask, scores, elapsed / len(readable))
            if i in result.failures:
                problems.append(f"{item.image_id}: {result.failures[i]}")
        return problems

    def write_image(self, item, i, result, target, clean, baseline, mask, scores, seconds) -> None:
        folder = image_dir(self.out, item.image_id)
        write_png(folder / "restored.png", result.restored[i])
        write_png(folder / "target.png", target[i])
        panels = [("target", target[i]), ("baseline", baseline[i]), ("restored", result.restored[i])]
        if clean is not None:
            write_png(folder / "ground_truth.png", clean[i])
            panels.append(("truth", clean[i]))
        if mask is not None:
            write_png(folder / "mask.png", mask[i])
        if result.spread is not None:
            write_png(folder / "spread.png", (result.spread[i].mean(0, keepdim=True) * 4).clamp(0, 1))
        for name, images in result.phase_images.items():
            write_png(folder / f"phase_{name.replace(':', '_')}.png", images[i])
        if self.recipe.outputs.grid:
            write_grid(folder / "grid.png", panels, self.G.img_resolution)
        atomic_write_json(folder / "log.json", result.log[i])
        torch.save(result.styles[i:i + 1].clone(), folder / "styles.pt.tmp")
        (folder / "styles.pt.tmp").replace(folder / "styles.pt")
        record = {
            "image": item.image_id, "file": str(item.path), "seconds": round(seconds, 3),
            "failed": result.failures.get(i),
            "final_loss": {k: v[-1] for k, v in result.log[i].items() if v},
            "metrics": {group: {name: values[i] for name, values in by_metric.items()}
                        for group, by_metric in scores.items()},
        }
        write_done(self.out, item.image_id, record)

    def summarise(self) -> dict[str, Any]:
        records = [read_done(self.out, item.image_id) for item in self.images if is_done(self.out, item.image_id)]
        means: dict[str, dict[str, float]] = {}
        for group in ("restored", "baseline", "fidelity"):
            names = {n for r in records for n in r["metrics"].get(group, {})}
            for name in sorted(names):
                values = [r["metrics"][group][name] for r in records if name in r["metrics"].get(group, {})]
                means.setdefault(group, {})[name] = sum(values) / len(values)
        set_metrics = {}
        if self.recipe.inputs.mode == "benchmark" and records:
            preds = [read_image(image_dir(self.out, r["image"]) / "restored.png", self.G.img_channels)[None]
                     for r in records]
            refs = [read_image(image_dir(self.out, r["image"]) / "ground_truth.png", self.G.img_channels)[None]
                    for r in records]
            set_metrics = set_scores(self.metrics, preds, refs)
        results = {
            "recipe": self.recipe.name or (self.recipe_path.stem if self.recipe_path else None),
            "mode": self.recipe.inputs.mode,
            "images": len(records),
            "metrics": {slot.name: {"lower_is_better": slot.lower_is_better, "unavailable": slot.unavailable}
                        for slot in self.metrics},
            "mean": means,
            "set": set_metrics,
            "per_image": {r["image"]: r["metrics"] for r in records},
            "seconds_per_image": (sum(r["seconds"] for r in records) / len(records)) if records else None,
            "notes": self.notes,
        }
        atomic_write_json(self.out / "results.json", results)
        return results


def recorded_recipe(manifest: Path) -> dict[str, Any]:
    """The recipe a run folder's manifest records, with this version's defaults filled in ({} if unreadable)."""
    try:
        recorded = json.loads(manifest.read_text())["recipe"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    try:
        return Recipe.model_validate(recorded).model_dump(mode="json")
    except ValueError:
        return recorded if isinstance(recorded, dict) else {}


def print_summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    mean = results.get("mean", {})
    table = Table(title=f"{results.get('recipe') or 'run'}: {results['images']} image(s), means")
    table.add_column("metric")
    groups = [g for g in ("restored", "baseline", "fidelity") if g in mean]
    for group in groups:
        table.add_column(group, justify="right")
    names = sorted({n for g in groups for n in mean[g]})
    for name in names:
        arrow = {True: " ↓", False: " ↑"}.get(results["metrics"].get(name, {}).get("lower_is_better"), "")
        table.add_row(name + arrow, *[f"{mean[g][name]:.4f}" if name in mean[g] else "-" for g in groups])
    for name, value in results.get("set", {}).items():
        table.add_row(name, f"{value:.4f}", *["-"] * (len(groups) - 1))
    console = Console(stderr=False)
    console.print(table)
    for name, info in results["metrics"].items():
        if info.get("unavailable"):
            console.print(f"[yellow]{name} unavailable:[/yellow] {info['unavailable']}")
    for note in results.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}")


def print_task_summary(by_task: dict[str, dict[str, Any]]) -> None:
    """One row per task: restored vs naive baseline for each paired metric."""
    from rich.console import Console
    from rich.table import Table

    names = sorted({n for r in by_task.values() for n in r.get("mean", {}).get("restored", {})})
    table = Table(title="restored vs naive baseline (means over images)")
    table.add_column("task", no_wrap=True)
    for name in names:
        table.add_column(f"{name} restored", justify="right")
        table.add_column(f"{name} baseline", justify="right")
    for task, results in by_task.items():
        mean = results.get("mean", {})
        row = []
        for name in names:
            row += [f"{mean.get(g, {}).get(name, float('nan')):.4f}" for g in ("restored", "baseline")]
        table.add_row(task, *row)
    Console().print(table)


def run_recipe(recipe: Recipe, plugins: PluginSet, recipe_path: Path | None = None, output: Path | None = None,
               force: bool = False, limit: int | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run a recipe end to end and return its results (also written to results.json).

    A recipe with `tasks:` runs once per task into `<output>/<task>/`, sharing one loaded generator,
    and writes a combined `results.json` at the output root."""
    if recipe.tasks is None:
        return RecipeRun(recipe, plugins, recipe_path, output, force, limit, quiet).execute()
    first = RecipeRun(recipe.for_task(0), plugins, recipe_path, output, force, limit, quiet)
    root = first.out
    G = load_generator(recipe, plugins.registry, first.device)
    by_task: dict[str, dict[str, Any]] = {}
    for index, name in enumerate(recipe.task_names):
        run = RecipeRun(recipe.for_task(index), plugins, recipe_path, root / name, force, limit, quiet, G=G,
                        summary=False)
        if not quiet:
            print(f"[{index + 1}/{len(recipe.task_names)}] {name}", file=sys.stderr)
        by_task[name] = run.execute()
    combined = {"recipe": recipe.name, "tasks": by_task}
    atomic_write_json(root / "results.json", combined)
    if not quiet:
        print_task_summary(by_task)
    return combined
