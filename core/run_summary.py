"""The tables `restorefw run` prints at the end: metric means, and restored vs baseline per task."""

from __future__ import annotations

from typing import Any

from restorefw.evaluation import RANDOM_BACKBONE, RANDOM_BACKBONE_FOOTNOTE, direction_arrow, metric_caption


def print_summary(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    mean = results.get("mean", {})
    table = Table(title=f"{results.get('recipe') or 'run'}: {results['images']} image(s), means")
    table.add_column("metric")
    groups = [g for g in ("restored", "baseline", "fidelity") if g in mean]
    for group in groups:
        table.add_column(group, justify="right")
    metrics = results["metrics"]
    names = sorted({n for g in groups for n in mean[g]} | {n for n, i in metrics.items() if i.get("not_measured")})
    for name in names:
        info = metrics.get(name, {})
        cells = [f"{mean[g][name]:.4f}" if name in mean[g] else "n/a" if g in info.get("not_measured", {}) else "-"
                 for g in groups]
        table.add_row(metric_caption(name, info) + direction_arrow(info.get("lower_is_better")), *cells)
    for name, value in results.get("set", {}).items():
        table.add_row(metric_caption(name, metrics.get(name, {})), f"{value:.4f}", *["-"] * (len(groups) - 1))
    console = Console(stderr=False)
    console.print(table)
    for name, info in metrics.items():
        if info.get("unavailable"):
            console.print(f"[yellow]{name} unavailable:[/yellow] {info['unavailable']}")
        for group, reason in info.get("not_measured", {}).items():
            console.print(f"[yellow]{name} n/a ({group}):[/yellow] {reason}")
    for note in results.get("notes", []):
        console.print(f"[yellow]note:[/yellow] {note}")


def print_task_summary(by_task: dict[str, dict[str, Any]]) -> None:
    """One row per task: restored vs naive baseline for each paired metric."""
    from rich.console import Console
    from rich.table import Table

    names = sorted({n for r in by_task.values() for n in r.get("mean", {}).get("restored", {})})
    infos = {n: i for r in by_task.values() for n, i in r.get("metrics", {}).items()}
    table = Table(title="restored vs naive baseline (means over images)")
    table.add_column("task", no_wrap=True)
    for name in names:
        table.add_column(f"{metric_caption(name, infos.get(name, {}))} restored", justify="right")
        table.add_column(f"{metric_caption(name, infos.get(name, {}))} baseline", justify="right")
    for task, results in by_task.items():
        mean = results.get("mean", {})
        row = []
        for name in names:
            row += [f"{mean.get(g, {}).get(name, float('nan')):.4f}" for g in ("restored", "baseline")]
        table.add_row(task, *row)
    console = Console()
    console.print(table)
    for name, info in infos.items():
        if info.get("random_backbone"):
            console.print(f"[yellow]{name} ({RANDOM_BACKBONE}):[/yellow] {RANDOM_BACKBONE_FOOTNOTE}.")
