"""Gathering a finished grid: per-cell means over images and seeds, set metrics, results.json and the tables.

The process that finishes the last item gathers; a lock file keeps two simultaneous finishers from
gathering twice (a lock left by a dead process on this host is taken over)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Callable, Sequence

from restorefw.bench.grid import Grid
from restorefw.bench.plan import Cell
from restorefw.bench.tables import write_tables
from restorefw.device import resolve_device
from restorefw.errors import RestoreError
from restorefw.evaluation import MetricSlot, build_metrics, metric_entry
from restorefw.imageio import atomic_write_json
from restorefw.registry import Registry
from restorefw.runfolder import RunFolder, means, not_measured, paired_values

LOCK = ".gather.lock"


def gather_once(out: Path, gather: Callable[[], Any], say: Callable[[str], None]) -> bool:
    """Run `gather` unless another live process holds the gather lock in `out`; True when this one gathered."""
    lock = out / LOCK
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        if lock_alive(lock):
            say(f"another process ({lock.read_text().strip()}) is gathering the tables.")
            return False
        lock.unlink(missing_ok=True)
        return gather_once(out, gather, say)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"{socket.gethostname()} {os.getpid()}")
    try:
        gather()
    finally:
        lock.unlink(missing_ok=True)
    return True


def lock_alive(lock: Path) -> bool:
    """Whether the process named in a gather lock still runs (locks of other hosts count as alive)."""
    try:
        host, pid = lock.read_text().split()
    except (OSError, ValueError):
        return False
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


def gather(out: Path, grid: Grid, grid_name: str, labels: Sequence[str], image_ids: Sequence[str],
           cells: Sequence[Cell], registry: Registry) -> dict[str, Any]:
    """Average paired metrics, compute set metrics, write results.json and the tables into `out`."""
    slots = build_metrics(grid.metric_specs, registry, resolve_device(grid.device or "auto"))
    seeds: dict[tuple[str, str, str], list[Cell]] = {}
    for cell in cells:
        seeds.setdefault((cell.recipe, cell.task, cell.level), []).append(cell)
    rows = [gather_cell(out, group, image_ids, slots) for group in seeds.values()]
    reasons: dict[str, dict[str, str]] = {}
    for row in rows:
        for name, by_group in row.pop("not_measured").items():
            for group, reason in by_group.items():
                reasons.setdefault(name, {}).setdefault(group, reason)
    metrics = {s.name: metric_entry(s, s.lower_is_better if s.metric is not None else _direction(registry, s.name),
                                    reasons.get(s.name))
               for s in slots}
    results = {"grid": grid_name, "recipes": list(labels), "images": len(image_ids), "seeds": grid.seeds,
               "metrics": metrics, "cells": rows}
    atomic_write_json(out / "results.json", results)
    write_tables(out, results, grid, list(labels))
    return results


def gather_cell(out: Path, cells: Sequence[Cell], image_ids: Sequence[str], slots: Sequence[MetricSlot]) -> dict:
    """One (recipe, task, level): paired scores averaged over its images and seeds, set metrics over seeds."""
    records: list[dict[str, Any]] = []
    set_values: dict[str, list[float]] = {}
    for cell in cells:
        folder = RunFolder(cell.folder(out))
        cell_records = [folder.read_done(i) for i in image_ids]
        records += cell_records
        for name, value in folder.set_scores(cell_records, slots, folder.recorded_channels()).items():
            set_values.setdefault(name, []).append(value)
    paired = means(paired_values(records))
    restored = dict(paired.get("restored", {}))
    restored.update({name: sum(v) / len(v) for name, v in set_values.items()})
    first = cells[0]
    return {"recipe": first.recipe, "task": first.task, "level": first.level, "seeds": [c.seed for c in cells],
            "values": restored, "fidelity": paired.get("fidelity", {}), "baseline": paired.get("baseline", {}),
            "not_measured": not_measured(records)}


def _direction(registry: Registry, name: str) -> bool | None:
    try:
        return bool(registry.get("metric", name).lower_is_better)
    except RestoreError:
        return None

