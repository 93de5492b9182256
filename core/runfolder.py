"""A run folder: per-image outputs with a done-record written last, the manifest, the resume rule, and the
aggregation of per-image scores. `restorefw run` writes one; `restorefw bench` one per grid cell."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from restorefw.errors import UserError
from restorefw.evaluation import MetricSlot, set_scores
from restorefw.imageio import atomic_write_json, read_image, write_png
from restorefw.outputs import atomic_torch_save, write_grid
from restorefw.pipeline import BatchResult
from restorefw.recipe import Recipe

DONE = "done.json"
MANIFEST = "manifest.json"
# Recipe fields that do not change an image's result: a finished image is kept when only these differ.
RESUME_INDIFFERENT = {"name", "description", "requires", "outputs", "batch_size", "threads", "inputs.limit"}


def recipe_changes(before: dict[str, Any], after: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths where two dumped recipes differ in anything that changes an image's result."""
    changes = []
    for key in sorted(set(before) | set(after), key=str):
        path = f"{prefix}{key}"
        if path in RESUME_INDIFFERENT:
            continue
        a, b = before.get(key), after.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += recipe_changes(a, b, f"{path}.")
        elif a != b:
            changes.append(path)
    return changes


def paired_values(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, list[float]]]:
    """Per-image scores of done-records by group (restored/baseline/fidelity) and metric; n/a values left out."""
    values: dict[str, dict[str, list[float]]] = {}
    for record in records:
        for group, by_name in record["metrics"].items():
            for name, value in by_name.items():
                if value is not None:
                    values.setdefault(group, {}).setdefault(name, []).append(value)
    return values


def not_measured(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Metric → group → why it could not measure that group's images, over done-records (first reason kept)."""
    reasons: dict[str, dict[str, str]] = {}
    for record in records:
        for group, by_name in record.get("not_measured", {}).items():
            for name, reason in by_name.items():
                reasons.setdefault(name, {}).setdefault(group, reason)
    return reasons


def means(values: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    return {group: {name: sum(v) / len(v) for name, v in by_name.items()} for group, by_name in values.items()}


class RunFolder:
    """The output folder of one recipe run: `images/<id>/` per image, `manifest.json`, `results.json`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def image_dir(self, image_id: str) -> Path:
        return self.root / "images" / image_id

    def is_done(self, image_id: str) -> bool:
        return (self.image_dir(image_id) / DONE).is_file()

    def read_done(self, image_id: str) -> dict[str, Any]:
        return json.loads((self.image_dir(image_id) / DONE).read_text())

    def records(self, image_ids: Iterable[str]) -> list[dict[str, Any]]:
        """The done-records of the finished images among `image_ids`, in that order."""
        return [self.read_done(i) for i in image_ids if self.is_done(i)]

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.root / MANIFEST, manifest)

    def recorded_recipe(self) -> dict[str, Any]:
        """The recipe the manifest records, with this version's defaults filled in ({} if unreadable)."""
        try:
            recorded = json.loads((self.root / MANIFEST).read_text())["recipe"]
        except (OSError, ValueError, KeyError, TypeError):
            return {}
        try:
            return Recipe.model_validate(recorded).model_dump(mode="json")
        except ValueError:
            return recorded if isinstance(recorded, dict) else {}

    def recorded_channels(self, default: int = 3) -> int:
        """The generator's channel count the manifest records (how to read the folder's images back)."""
        try:
            return int(json.loads((self.root / MANIFEST).read_text())["resolved"]["generator"]["channels"])
        except (OSError, ValueError, KeyError, TypeError):
            return default

    def refuse_stale(self, recipe: dict[str, Any], image_ids: Sequence[str]) -> None:
        """The resume rule: finished images of a recipe that differs in a result-changing field are not mixed
        with this recipe's (raise unless nothing is finished or only indifferent fields changed)."""
        finished = [i for i in image_ids if self.is_done(i)]
        if not finished or not (self.root / MANIFEST).is_file():
            return
        changes = recipe_changes(self.recorded_recipe(), recipe)
        if changes:
            shown = ", ".join(changes[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")
            raise UserError(
                f"{self.root} holds {len(finished)} finished image(s) made with a different recipe (changed: {shown}): "
                "the recipe changed since these outputs were made, and resuming would mix their results with this "
                "recipe's. Rerun with --force to redo them, or write to a new output folder.")

    def write_batch(self, batch: BatchResult, grid: bool, score: Callable[[BatchResult], None],
                    skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """Write every image of `batch` not in `skip`: its restoration and other outputs first, then `score`
        the batch, then the done-records last; returns the images whose optimisation failed."""
        written = [i for i, item in enumerate(batch.items) if item.image_id not in skip]
        for i in written:
            self.write_outputs(batch, i, grid)
        score(batch)
        problems = []
        for i in written:
            self.write_record(batch, i)
            failure = batch.restoration.failures.get(i)
            if failure is not None:
                problems.append(f"{batch.items[i].image_id}: {failure}")
        return problems

    def write_outputs(self, batch: BatchResult, i: int, grid: bool) -> None:
        """Image `i`'s restoration, target, baseline, truth, mask, grid, loss log and styles."""
        item, result = batch.items[i], batch.restoration
        folder = self.image_dir(item.image_id)
        write_png(folder / "restored.png", result.restored[i])
        write_png(folder / "target.png", batch.target[i])
        write_png(folder / "baseline.png", batch.baseline[i])
        panels = [("target", batch.target[i]), ("baseline", batch.baseline[i]), ("restored", result.restored[i])]
        if batch.clean is not None:
            write_png(folder / "ground_truth.png", batch.clean[i])
            panels.append(("truth", batch.clean[i]))
        if batch.mask is not None:
            write_png(folder / "mask.png", batch.mask[i])
        if result.spread is not None:
            write_png(folder / "spread.png", (result.spread[i].mean(0, keepdim=True) * 4).clamp(0, 1))
        for name, images in result.phase_images.items():
            write_png(folder / f"phase_{name.replace(':', '_')}.png", images[i])
        if grid:
            write_grid(folder / "grid.png", panels, result.restored.shape[-1])
        atomic_write_json(folder / "log.json", result.log[i])
        atomic_torch_save(folder / "styles.pt", result.styles[i:i + 1].clone())

    def write_record(self, batch: BatchResult, i: int) -> None:
        """Image `i`'s done-record: its scores (None = n/a, with the reason under `not_measured`)."""
        item, result = batch.items[i], batch.restoration
        record = {
            "image": item.image_id, "file": str(item.path), "seconds": round(batch.seconds, 3),
            "failed": result.failures.get(i), "notes": batch.notes.get(item.image_id, []),
            "final_loss": {k: v[-1] for k, v in result.log[i].items() if v},
            "metrics": {group: {name: values[i] if values is not None else None for name, values in by_metric.items()}
                        for group, by_metric in batch.scores.items()},
        }
        not_measured = {group: reasons for group, reasons in batch.not_measured.items() if reasons}
        if not_measured:
            record["not_measured"] = not_measured
        atomic_write_json(self.image_dir(item.image_id) / DONE, record)

    def set_scores(self, records: Sequence[dict[str, Any]], slots: Sequence[MetricSlot],
                   channels: int) -> dict[str, float]:
        """Set metrics (FID, PFID, ...) of the restored images against the ground truths of `records`; a metric
        that cannot run on these images (e.g. smaller than its crops) is marked unavailable on its slot."""
        preds = [read_image(self.image_dir(r["image"]) / "restored.png", channels)[None] for r in records]
        refs = [read_image(self.image_dir(r["image"]) / "ground_truth.png", channels)[None] for r in records]
        scores: dict[str, float] = {}
        for slot in slots:
            try:
                scores.update(set_scores([slot], preds, refs))
            except UserError as exc:
                slot.metric, slot.unavailable = None, str(exc)
        return scores
