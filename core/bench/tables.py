"""The benchmark's tables in the paper's layouts, as Markdown, CSV and LaTeX.

Layouts (seed paper): `levels` (Tables I/III: single tasks × levels as rows, metric × recipe
columns), `combinations` (Tables II/IV: the 2-, 3- and 4-way combinations at level M, same columns),
`ablation` (Tables V–VII: one level, tasks as sections, recipes as rows, metrics as columns).
Marked best (bold in Markdown and LaTeX, `best=1` in CSV): in `levels`/`combinations` the best
recipe for each metric within a row (the comparison those tables make); in `ablation` the best
recipe for each metric within a task. Nothing is marked where fewer than two values compete.
`tables.csv` is long-format: one value per line (layout, task, level, recipe, metric, value, best).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from restorefw.evaluation import RANDOM_BACKBONE, RANDOM_BACKBONE_FOOTNOTE, direction_arrow, metric_caption
from restorefw.imageio import atomic_write_text

TITLES = {"levels": "Single degradations: tasks × levels",
          "combinations": "Multiple degradations{level}",
          "ablation": "Per-recipe comparison at level {level} (single-loss ablation)"}


@dataclass
class Cell:
    value: float | None
    best: bool = False


@dataclass
class Row:
    label: str
    task: str
    level: str
    recipes: list[str]  # the recipe of each cell
    cells: list[Cell]


@dataclass
class Section:
    heading: str
    rows: list[Row]


@dataclass
class Table:
    layout: str
    title: str
    metrics: list[str]
    recipes: list[str]  # column recipes per metric; empty for ablation (recipes are rows)
    sections: list[Section] = field(default_factory=list)

    @property
    def columns(self) -> list[tuple[str, str | None]]:
        if self.recipes:
            return [(m, r) for m in self.metrics for r in self.recipes]
        return [(m, None) for m in self.metrics]


def display_name(results: dict[str, Any], name: str) -> str:
    """A metric's column heading: its `display_name` as gathered into results.json, else its name."""
    return results["metrics"].get(name, {}).get("display_name") or name


def places(results: dict[str, Any], name: str) -> int:
    return int(results["metrics"].get(name, {}).get("decimals", 3))


def metric_label(results: dict[str, Any], name: str, lower: bool | None) -> str:
    """The column label: display name, "(random backbone)" when so computed, direction arrow."""
    return metric_caption(display_name(results, name), results["metrics"].get(name, {})) + direction_arrow(lower)


def task_label(task: str) -> str:
    """A task's section heading: letters of a combination as they are, a name capitalised."""
    return task if task.isupper() else task[:1].upper() + task[1:]


def fmt(value: float | None, decimals: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{decimals}f}"


def _mark(cells: Sequence[Cell], lower: bool | None) -> None:
    values = [c.value for c in cells if c.value is not None and math.isfinite(c.value)]
    if lower is None or len(values) < 2:
        return
    best = min(values) if lower else max(values)
    for c in cells:
        c.best = c.value is not None and c.value == best


def build_tables(results: dict[str, Any], grid, recipes: Sequence[str]) -> list[Table]:
    """The tables the grid asks for, from gathered results."""
    values = {(c["recipe"], c["task"], c["level"]): c["values"] for c in results["cells"]}
    direction = {name: info.get("lower_is_better") for name, info in results["metrics"].items()}

    def value(recipe: str, task: str, level: str, metric: str) -> float | None:
        v = values.get((recipe, task, level), {}).get(metric)
        return None if v is None else float(v)

    def wide_row(task: str, level: str, label: str, metrics: list[str]) -> Row:
        cells = [Cell(value(r, task, level, m)) for m in metrics for r in recipes]
        for k in range(len(metrics)):
            _mark(cells[k * len(recipes):(k + 1) * len(recipes)], direction.get(metrics[k]))
        return Row(label, task, level, [r for _ in metrics for r in recipes], cells)

    tables = []
    for spec in grid.resolved_tables():
        metrics = list(spec.metrics)
        if spec.layout == "levels":
            table = Table("levels", TITLES["levels"], metrics, list(recipes))
            for task in grid.single_tasks:
                table.sections.append(Section(task_label(task), [wide_row(task, lvl, lvl or "-", metrics)
                                                                  for lvl in grid.levels_of(task)]))
        elif spec.layout == "combinations":
            levels = {grid.levels_of(t)[0] for t in grid.combinations}
            level = f" (level {levels.pop()})" if len(levels) == 1 and "" not in levels else ""
            table = Table("combinations", TITLES["combinations"].format(level=level), metrics, list(recipes))
            sizes = sorted({len(grid.task(t).stages) for t in grid.combinations})
            for size in sizes:
                rows = [wide_row(t, grid.levels_of(t)[0], t, metrics) for t in grid.combinations
                        if len(grid.task(t).stages) == size]
                if rows:
                    table.sections.append(Section(f"{size} degradations", rows))
        else:
            table = Table("ablation", TITLES["ablation"].format(level=spec.level), metrics, [])
            for task in [t for t in grid.single_tasks if spec.level in grid.levels_of(t)]:
                rows = [Row(r, task, spec.level, [r] * len(metrics),
                            [Cell(value(r, task, spec.level, m)) for m in metrics]) for r in recipes]
                for k, m in enumerate(metrics):
                    _mark([row.cells[k] for row in rows], direction.get(m))
                table.sections.append(Section(task_label(task), rows))
        tables.append(table)
    return tables


def _unavailable(results: dict[str, Any], tables: Sequence[Table]) -> list[tuple[str, str]]:
    shown = {m for t in tables for m in t.metrics}
    return [(name, info["unavailable"]) for name, info in results["metrics"].items()
            if info.get("unavailable") and name in shown]


def footnotes(results: dict[str, Any], tables: Sequence[Table]) -> list[str]:
    """Markdown notes for shown metrics that are unavailable, could not measure the restorations, or have a
    random backbone."""
    shown = {m for t in tables for m in t.metrics}
    lines = []
    for name, info in results["metrics"].items():
        if name not in shown:
            continue
        label = metric_caption(display_name(results, name), info)
        if info.get("unavailable"):
            lines.append(f"**{label} unavailable** (shown as n/a): {info['unavailable']}")
        if "restored" in info.get("not_measured", {}):
            lines.append(f"**{label} n/a** where it could not measure the restored images: "
                         f"{info['not_measured']['restored']}")
        if info.get("random_backbone"):
            lines.append(f"**{label}**: {RANDOM_BACKBONE_FOOTNOTE}.")
    return lines


def to_markdown(tables: Sequence[Table], results: dict[str, Any]) -> str:
    direction = {name: info.get("lower_is_better") for name, info in results["metrics"].items()}
    lines = [f"# Benchmark: {results['grid']}", "",
             f"{results['images']} image(s), seed(s) {', '.join(map(str, results['seeds']))}; "
             f"recipes: {', '.join(results['recipes'])}. ↓ lower is better, ↑ higher is better.", ""]
    for table in tables:
        first = "Degradation" if table.recipes else "Task / recipe"
        header = [first] + [metric_label(results, m, direction.get(m)) + (f" ({r})" if r else "")
                            for m, r in table.columns]
        marking = ("bold: the best recipe for each metric in a row" if table.recipes
                   else "bold: the best recipe for each metric within a task")
        lines += [f"## {table.title}", "", f"({marking})", "",
                  "| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(table.columns)) + "|"]
        for section in table.sections:
            lines.append("| " + " | ".join([f"**{section.heading}**"] + [""] * len(table.columns)) + " |")
            for row in section.rows:
                cells = [fmt(c.value, places(results, m)) for (m, _), c in zip(table.columns, row.cells)]
                cells = [f"**{text}**" if c.best else text for text, c in zip(cells, row.cells)]
                lines.append("| " + " | ".join([row.label, *cells]) + " |")
        lines.append("")
    lines += [f"- {line}" for line in footnotes(results, tables)]
    return "\n".join(lines).rstrip() + "\n"


def to_csv(tables: Sequence[Table], results: dict[str, Any]) -> str:
    """Long format; `note` says "random backbone" for values of a metric computed with one."""
    random = {name for name, info in results["metrics"].items() if info.get("random_backbone")}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["layout", "task", "level", "recipe", "metric", "value", "best", "note"])
    for table in tables:
        for section in table.sections:
            for row in section.rows:
                for (metric, _), recipe, cell in zip(table.columns, row.recipes, row.cells):
                    shown = "" if cell.value is None or not math.isfinite(cell.value) else f"{cell.value:.6g}"
                    writer.writerow([table.layout, row.task, row.level, recipe, metric, shown, int(cell.best),
                                     RANDOM_BACKBONE if metric in random else ""])
    return buffer.getvalue()


_TEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
        "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "×": r"$\times$"}


def tex_escape(text: str) -> str:
    return "".join(_TEX.get(ch, ch) for ch in text)


def _tex_metric(results: dict[str, Any], name: str, lower: bool | None) -> str:
    caption = metric_caption(display_name(results, name), results["metrics"].get(name, {}))
    return tex_escape(caption) + direction_arrow(lower, r" $\downarrow$", r" $\uparrow$")


def to_latex(tables: Sequence[Table], results: dict[str, Any]) -> str:
    direction = {name: info.get("lower_is_better") for name, info in results["metrics"].items()}
    missing = {name for name, _ in _unavailable(results, tables)}
    random = {name for name, info in results["metrics"].items() if info.get("random_backbone")}
    parts = ["% Generated by restorefw bench; needs \\usepackage{booktabs}.", ""]
    for table in tables:
        width = 1 + len(table.columns)
        if table.recipes:
            n = len(table.recipes)
            spec = "l" + " ".join("c" * n for _ in table.metrics)
            top = "Degradation & " + " & ".join(
                rf"\multicolumn{{{n}}}{{c}}{{{_tex_metric(results, m, direction.get(m))}}}"
                for m in table.metrics) + r" \\"
            rules = " ".join(rf"\cmidrule(lr){{{2 + k * n}-{1 + (k + 1) * n}}}" for k in range(len(table.metrics)))
            head = [top, rules, " & " + " & ".join(tex_escape(r or "") for _, r in table.columns) + r" \\"]
        else:
            spec = "l" + "c" * len(table.metrics)
            names = " & ".join(_tex_metric(results, m, direction.get(m)) for m in table.metrics)
            head = ["Task / recipe & " + names + r" \\"]
        body = []
        for section in table.sections:
            body.append(rf"\multicolumn{{{width}}}{{l}}{{\textit{{{tex_escape(section.heading)}}}}} \\")
            for row in section.rows:
                cells = [fmt(c.value, places(results, m)) for (m, _), c in zip(table.columns, row.cells)]
                cells = [rf"\textbf{{{t}}}" if c.best else t for t, c in zip(cells, row.cells)]
                body.append(" & ".join([tex_escape(row.label), *cells]) + r" \\")
        caption = tex_escape(table.title) + ". Best in bold."
        if missing & set(table.metrics):
            caption += " n/a: metric unavailable here (see tables.md)."
        if random & set(table.metrics):
            caption += f" ({RANDOM_BACKBONE}): {tex_escape(RANDOM_BACKBONE_FOOTNOTE)}."
        parts += [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{spec}}}", r"\toprule", *head,
                  r"\midrule", *body, r"\bottomrule", r"\end{tabular}", rf"\caption{{{caption}}}", r"\end{table}", ""]
    return "\n".join(parts)


def write_tables(out: Path, results: dict[str, Any], grid, recipes: Sequence[str]) -> list[Table]:
    """Write tables.md, tables.csv and tables.tex (atomically) into `out`."""
    tables = build_tables(results, grid, recipes)
    atomic_write_text(out / "tables.md", to_markdown(tables, results))
    atomic_write_text(out / "tables.csv", to_csv(tables, results))
    atomic_write_text(out / "tables.tex", to_latex(tables, results))
    return tables
