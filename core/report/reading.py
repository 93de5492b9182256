"""Reading the files a run or a bench leaves on disk, and telling which kind of folder it is."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from restorefw.errors import UserError

Kind = Literal["run", "tasks", "bench"]


def read_json(path: Path) -> Any:
    """A JSON file's content; a corrupt file is a UserError naming it."""
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); rerun the command that wrote it.") from None


def read_optional(path: Path) -> Any:
    """A JSON file's content, or None when it is missing or unreadable (a per-image file may be)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def folder_kind(folder: Path) -> Kind:
    """`run` (one task), `tasks` (a run of several tasks, one sub-folder each) or `bench`."""
    results = folder / "results.json"
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder; give the output folder of `restorefw run` or `restorefw bench`.")
    if not results.is_file():
        raise UserError(f"{folder} has no results.json, so it is not a finished run or bench folder: a run writes "
                        "results.json when it ends and a bench when its last item is done. Finish it (rerun the "
                        "same command: finished images are kept), then make the report.")
    data = read_json(results)
    if isinstance(data, dict) and "cells" in data:
        return "bench"
    if isinstance(data, dict) and isinstance(data.get("tasks"), dict):
        return "tasks"
    if isinstance(data, dict) and "per_image" in data:
        return "run"
    raise UserError(f"{results} is neither a run's nor a bench's results (no `per_image`, `tasks` or `cells`).")


def finite(value: Any) -> float | None:
    """A number as a float; None for a missing, non-numeric or non-finite value (shown as n/a)."""
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def href(path: Path, base: Path) -> str:
    """A relative link from a page in `base` to `path`, escaped for use in HTML attributes."""
    return quote(path.relative_to(base).as_posix(), safe="/")


def number(value: float | None, decimals: int = 3) -> str:
    """A value as shown: n/a when missing, else with the metric's decimals."""
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{decimals}f}"


@dataclass(frozen=True)
class MetricInfo:
    """How results.json says to show a metric: its display name, decimals and direction."""

    name: str
    label: str
    decimals: int
    lower_is_better: bool | None
    random_backbone: bool = False

    @property
    def arrow(self) -> str:
        return "" if self.lower_is_better is None else "↓" if self.lower_is_better else "↑"

    @property
    def heading(self) -> str:
        """The label with its direction, marked when the values come from a random backbone."""
        return f"{self.label} {self.arrow}".strip() + (" (random backbone)" if self.random_backbone else "")

    def show(self, value: float | None) -> str:
        return number(value, self.decimals)


def metric_infos(results: dict[str, Any]) -> dict[str, MetricInfo]:
    """Every metric results.json describes (display_name and decimals default to the name and 3)."""
    infos = {}
    for name, info in results.get("metrics", {}).items():
        info = info if isinstance(info, dict) else {}
        decimals = info.get("decimals")
        infos[name] = MetricInfo(name, str(info.get("display_name") or name),
                                 decimals if isinstance(decimals, int) else 3, info.get("lower_is_better"),
                                 bool(info.get("random_backbone")))
    return infos


def metric_info(infos: dict[str, MetricInfo], name: str) -> MetricInfo:
    return infos.get(name) or MetricInfo(name, name, 3, None)
