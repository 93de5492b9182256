"""What a run report shows, read from a run folder: results.json, manifest.json and each image's files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from restorefw.report.plots import write_loss_plot
from restorefw.report.reading import MetricInfo, finite, href, metric_info, metric_infos, read_json, read_optional

GROUPS = ("restored", "baseline", "fidelity")
PANELS = (("target", "target.png"), ("baseline", "baseline.png"), ("restored", "restored.png"),
          ("ground truth", "ground_truth.png"), ("spread", "spread.png"), ("mask", "mask.png"))
PAGE_SIZE = 50
PAGINATE_ABOVE = 100
ASSETS = "report_files"


@dataclass
class Picture:
    label: str
    href: str


@dataclass
class Column:
    """One metric column of a metrics table: `group` is restored / baseline / fidelity / set."""

    info: MetricInfo
    group: str

    @property
    def metric(self) -> str:
        return self.info.name


@dataclass
class MetricRow:
    label: str
    link: str | None
    values: list[float | None]
    best: list[bool]


@dataclass
class Score:
    """One metric of one image, restored against baseline; `winner` is the better group (or None)."""

    info: MetricInfo
    restored: float | None
    baseline: float | None
    winner: str | None


def scores_of(columns: list[Column], row: MetricRow) -> list[Score]:
    found: dict[str, Score] = {}
    for column, value, best in zip(columns, row.values, row.best):
        if column.group in ("restored", "baseline"):
            score = found.setdefault(column.metric, Score(column.info, None, None, None))
            setattr(score, column.group, value)
            score.winner = column.group if best else score.winner
    return list(found.values())


@dataclass
class ImageView:
    id: str
    anchor: str
    pictures: list[Picture]
    phases: list[Picture]
    plot: str | None
    grid: str | None
    failed: str | None
    row: MetricRow
    scores: list[Score]
    page: int = 0


@dataclass
class TaskView:
    """One task of a run (a single-task run has one)."""

    name: str
    anchor: str
    results: dict[str, Any]
    manifest: dict[str, Any]
    recipe_yaml: str
    columns: list[Column]
    images: list[ImageView] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def image_columns(self) -> list[Column]:
        """The columns of the per-image table: set metrics (FID...) have no per-image value."""
        return [c for c in self.columns if c.group != "set"]

    @property
    def pages(self) -> int:
        return 1 + max((image.page for image in self.images), default=0)

    @property
    def failed(self) -> list[ImageView]:
        return [image for image in self.images if image.failed]


def columns_of(results: dict[str, Any]) -> list[Column]:
    """Restored, baseline and fidelity of each metric, then the set metrics (restored only)."""
    infos = metric_infos(results)
    means = results.get("mean", {})
    names = [n for n in infos if any(n in means.get(g, {}) for g in GROUPS)]
    names += sorted({n for g in GROUPS for n in means.get(g, {})} - set(names))
    columns = [Column(metric_info(infos, n), g) for n in names for g in GROUPS if g in means]
    return columns + [Column(metric_info(infos, n), "set") for n in results.get("set", {})]


def metric_row(label: str, link: str | None, columns: list[Column], by_group: dict[str, dict[str, Any]]) -> MetricRow:
    """A row of values; in each metric, the better of restored and baseline is marked best."""
    values = [finite(by_group.get(c.group, {}).get(c.metric)) for c in columns]
    best = [False] * len(columns)
    for k, column in enumerate(columns):
        if column.group != "restored" or column.info.lower_is_better is None:
            continue
        rival = next((j for j, c in enumerate(columns) if c.metric == column.metric and c.group == "baseline"), None)
        mine, theirs = values[k], values[rival] if rival is not None else None
        if rival is None or mine is None or theirs is None or mine == theirs:
            continue
        best[k if (mine < theirs) == column.info.lower_is_better else rival] = True
    return MetricRow(label, link, values, best)


def task_label(manifest: dict[str, Any], fallback: str) -> str:
    """`<task> <level>` (stages joined by +) from the manifest's recipe, or the folder's name."""
    degradation = manifest.get("recipe", {}).get("degradation")
    stages = degradation if isinstance(degradation, list) else [degradation] if degradation else []
    text = " + ".join(f"{s.get('task')} {s.get('level') or ''}".strip() for s in stages if isinstance(s, dict))
    return text or fallback


def read_task(folder: Path, report_dir: Path, name: str | None = None) -> TaskView:
    """One run folder (results.json, manifest.json, images/<id>/...) as the report shows it."""
    results = read_json(folder / "results.json")
    manifest = read_optional(folder / "manifest.json") or {}
    label = name or task_label(manifest, folder.name)
    anchor = "task-" + _slug(label)
    task = TaskView(label, anchor, results, manifest, yaml.safe_dump(manifest.get("recipe", {}), sort_keys=False),
                    columns_of(results))
    per_image = results.get("per_image", {})
    listed = [str(entry["id"]) for entry in manifest.get("images", []) if isinstance(entry, dict) and "id" in entry]
    order = [i for i in listed if i in per_image] + [i for i in per_image if i not in listed]
    paginate = len(order) > PAGINATE_ABOVE
    for index, image_id in enumerate(order):
        image = read_image(folder, report_dir, image_id, per_image[image_id], task.image_columns, anchor)
        image.page = index // PAGE_SIZE if paginate else 0
        task.images.append(image)
    task.missing = [i for i in listed if i not in per_image]
    return task


def read_image(folder: Path, report_dir: Path, image_id: str, metrics: dict[str, Any], columns: list[Column],
               task_anchor: str) -> ImageView:
    """One image's pictures, phase strip, loss plot and metric row."""
    directory = folder / "images" / image_id
    anchor = f"{task_anchor}-img-{_slug(image_id)}"
    pictures = [Picture(label, href(directory / file, report_dir)) for label, file in PANELS
                if (directory / file).is_file()]
    phases = [Picture(p.stem.removeprefix("phase_").replace("_", ":", 1), href(p, report_dir))
              for p in sorted(directory.glob("phase_*.png"), key=_phase_order)]
    done = read_optional(directory / "done.json") or {}
    plot = None
    log = read_optional(directory / "log.json")
    if isinstance(log, dict) and log:
        plot_file = report_dir / ASSETS / folder.relative_to(report_dir) / f"{image_id}-loss.svg"
        write_loss_plot(directory / "log.json", plot_file, log)
        plot = href(plot_file, report_dir)
    grid = href(directory / "grid.png", report_dir) if (directory / "grid.png").is_file() else None
    row = metric_row(image_id, f"#{anchor}", columns, metrics)
    return ImageView(image_id, anchor, pictures, phases, plot, grid, done.get("failed"), row, scores_of(columns, row))


def _phase_order(path: Path) -> tuple[int, str]:
    head = path.stem.removeprefix("phase_").split("_", 1)[0]
    return (int(head), path.stem) if head.isdigit() else (1 << 30, path.stem)


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text).strip("-").lower() or "x"


def read_run(folder: Path) -> list[TaskView]:
    """The tasks of a run folder: itself, or (a run of several tasks) each task's sub-folder in order."""
    results = read_json(folder / "results.json")
    if isinstance(results.get("tasks"), dict):
        return [read_task(folder / name, folder, name) for name in results["tasks"] if (folder / name).is_dir()]
    return [read_task(folder, folder)]


def summary(tasks: list[TaskView]) -> tuple[list[Column], list[MetricRow]]:
    """One row per task over the union of the tasks' metric columns (results.json's means and set metrics)."""
    columns: list[Column] = []
    for task in tasks:
        columns += [c for c in task.columns if (c.metric, c.group) not in {(k.metric, k.group) for k in columns}]
    rows = [metric_row(task.name, f"#{task.anchor}", columns,
                       {**task.results.get("mean", {}), "set": task.results.get("set", {})}) for task in tasks]
    return columns, rows
