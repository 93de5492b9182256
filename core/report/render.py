"""Rendering: the jinja2 templates in templates/, the number formats they use, and the report file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from restorefw.imageio import atomic_write_text
from restorefw.report.bench_view import read_bench
from restorefw.report.reading import folder_kind
from restorefw.report.run_view import read_run, summary

REPORT_NAME = "report.html"
TEMPLATES = Path(__file__).parent / "templates"


def exact(value: float | None) -> str:
    """The value as written in results.json (shortest round-tripping form), for sorting and checking."""
    return "" if value is None else repr(float(value))


def environment():
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(exact=exact,
                       to_yaml=lambda obj: yaml.safe_dump(obj, sort_keys=False, allow_unicode=True))
    return env


def render(folder: Path) -> str:
    """The HTML of `folder`'s report (a run, a run of several tasks, or a bench)."""
    kind = folder_kind(folder)
    env = environment()
    if kind == "bench":
        return env.get_template("bench.html.j2").render(bench=read_bench(folder), title=folder.name)
    tasks = read_run(folder)
    columns, rows = summary(tasks)
    return env.get_template("run.html.j2").render(tasks=tasks, title=_run_title(folder, tasks), multi=kind == "tasks",
                                                  summary_columns=columns, summary_rows=rows)


def _run_title(folder: Path, tasks: list[Any]) -> str:
    results = tasks[0].results if tasks else {}
    return str(results.get("recipe") or folder.name)


def write_report(folder: str | Path) -> Path:
    """Write `folder`/report.html (plots under `folder`/report_files/) and return its path."""
    folder = Path(folder)
    html = render(folder)
    path = folder / REPORT_NAME
    atomic_write_text(path, html)
    return path
