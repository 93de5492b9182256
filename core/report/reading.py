"""Reading the files a run or a bench leaves on disk, and telling which kind of folder it is."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from restorefw.errors import UserError

Kind = Literal["run", "tasks", "bench"]
DECIMALS = {"fid": 1, "pfid": 1, "is": 2, "psnr": 2, "kid": 4}


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


def number(value: float | None, metric: str = "", decimals: int | None = None) -> str:
    """A metric value as shown: n/a when missing, else fixed decimals by metric (4 by default)."""
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{value:.{decimals if decimals is not None else DECIMALS.get(metric, 4)}f}"
