"""What a bench report shows: the paper-layout tables (structure and best marks from tables.csv, values
from results.json) and, per (task, level), the recipes' restorations of each image side by side."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from restorefw.report.reading import MetricInfo, finite, href, metric_info, metric_infos, read_json, read_optional

TITLES = {"levels": "Single degradations: tasks × levels", "combinations": "Multiple degradations (level {level})",
          "ablation": "Per-recipe comparison at level {level}"}
EAGER_PICTURES = 120


@dataclass
class TableCell:
    metric: str
    value: float | None
    best: bool
    link: str


@dataclass
class TableRow:
    label: str
    cells: list[TableCell]


@dataclass
class Section:
    heading: str
    rows: list[TableRow] = field(default_factory=list)


@dataclass
class BenchTable:
    layout: str
    title: str
    metrics: list[str]  # one per column group
    recipes: list[str]  # the recipes of a column group; empty for ablation (recipes are rows)
    sections: list[Section] = field(default_factory=list)


@dataclass
class Thumb:
    label: str
    href: str | None
    lazy: bool


@dataclass
class Strip:
    """The restorations of one (task, level) for every image: target, truth, then one per recipe."""

    task: str
    level: str
    anchor: str
    headers: list[str]
    means: list[str]  # each recipe's restored means in this (task, level), as a caption
    rows: list[tuple[str, list[Thumb]]]


@dataclass
class BenchView:
    results: dict[str, Any]
    manifest: dict[str, Any]
    run_manifest: dict[str, Any]
    tables: list[BenchTable]
    strips: list[Strip]
    missing_tables: bool
    infos: dict[str, MetricInfo] = field(default_factory=dict)

    def metric(self, name: str) -> MetricInfo:
        return metric_info(self.infos, name)


def strip_anchor(task: str, level: str) -> str:
    return f"strip-{task}-{level}"


def read_tables(path: Path, results: dict[str, Any]) -> list[BenchTable]:
    """The tables of tables.csv, in its order (table, section, row, cell); values come from results.json."""
    values = {(c["recipe"], c["task"], c["level"]): c.get("values", {}) for c in results.get("cells", [])}
    with path.open(newline="") as handle:
        records = list(csv.DictReader(handle))
    tables: list[BenchTable] = []
    for record in records:
        layout, task, level, recipe, metric = (record[k] for k in ("layout", "task", "level", "recipe", "metric"))
        title = TITLES.get(layout, layout).format(level=level)
        if not tables or tables[-1].title != title:
            tables.append(BenchTable(layout, title, [], []))
        table = tables[-1]
        if metric not in table.metrics:
            table.metrics.append(metric)
        if layout != "ablation" and recipe not in table.recipes:
            table.recipes.append(recipe)
        heading = f"{len(task)} degradations" if layout == "combinations" else _task_heading(task)
        if not table.sections or table.sections[-1].heading != heading:
            table.sections.append(Section(heading))
        rows = table.sections[-1].rows
        label = {"ablation": recipe, "levels": level}.get(layout, task)
        if not rows or rows[-1].label != label:
            rows.append(TableRow(label, []))
        value = finite(values.get((recipe, task, level), {}).get(metric))
        rows[-1].cells.append(TableCell(metric, value, record["best"] == "1", f"#{strip_anchor(task, level)}"))
    return tables


def _task_heading(task: str) -> str:
    return task if task.isupper() else task[:1].upper() + task[1:]


def read_strips(folder: Path, results: dict[str, Any], manifest: dict[str, Any],
                tables: list[BenchTable]) -> list[Strip]:
    """One strip per (task, level), first seed, in the order the tables show them (then results.json's)."""
    recipes = results.get("recipes", [])
    seed = (results.get("seeds") or [0])[0]
    images = [entry["id"] for entry in manifest.get("images", []) if isinstance(entry, dict) and "id" in entry]
    links = list(dict.fromkeys(c.link for t in tables for s in t.sections for r in s.rows for c in r.cells))
    order = {link[1:]: k for k, link in enumerate(links)}
    pairs = sorted(dict.fromkeys((c["task"], c["level"]) for c in results.get("cells", [])),
                   key=lambda pair: order.get(strip_anchor(*pair), len(order)))
    values = {(c["recipe"], c["task"], c["level"]): c.get("values", {}) for c in results.get("cells", [])}
    infos = metric_infos(results)
    captioned = [infos[m] for m, info in results.get("metrics", {}).items() if not info.get("unavailable")]
    strips, pictures = [], 0
    for task, level in pairs:
        cells = {r: folder / "cells" / r / f"{task}-{level}" / f"seed{seed}" / "images" for r in recipes}
        rows = []
        for image in images:
            first = next((cells[r] / image for r in recipes if (cells[r] / image).is_dir()), None)
            files = [("target", first / "target.png" if first else None),
                     ("ground truth", first / "ground_truth.png" if first else None),
                     *[(r, cells[r] / image / "restored.png") for r in recipes]]
            thumbs = []
            for label, path in files:
                present = path is not None and path.is_file()
                thumbs.append(Thumb(label, href(path, folder) if present else None, pictures >= EAGER_PICTURES))
                pictures += present
            rows.append((image, thumbs))
        means = [" · ".join(f"{m.label} {m.show(values.get((r, task, level), {}).get(m.name))}" for m in captioned)
                 for r in recipes]
        strips.append(Strip(task, level, strip_anchor(task, level), ["target", "ground truth", *recipes], means, rows))
    return strips


def first_run_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of one cell (versions, plugins, device are the same for every cell of a bench)."""
    for path in sorted((folder / "cells").glob("*/*/*/manifest.json")):
        found = read_optional(path)
        if isinstance(found, dict):
            return found
    return {}


def read_bench(folder: Path) -> BenchView:
    results = read_json(folder / "results.json")
    manifest = read_optional(folder / "manifest.json") or {}
    tables_file = folder / "tables.csv"
    tables = read_tables(tables_file, results) if tables_file.is_file() else []
    strips = read_strips(folder, results, manifest, tables)
    return BenchView(results, manifest, first_run_manifest(folder), tables, strips, not tables_file.is_file(),
                     metric_infos(results))
