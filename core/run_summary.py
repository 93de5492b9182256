"""The tables `restorefw run` prints at the end: metric means, and restored vs baseline per task."""

from __future__ import annotations

from typing import Any

from restorefw.evaluation import direction_arrow


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
        arrow = direction_arrow(results["metrics"].get(name, {}).get("lower_is_better"))
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
