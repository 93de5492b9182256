"""A rich progress bar for training: kimg done, kimg/h, losses and the ADA probability."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class TrainProgress:
    """Progress bar on a terminal; one JSON line per tick otherwise (or when disabled)."""

    def __init__(self, total_kimg: float, start_kimg: float, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total, self.start = total_kimg, start_kimg
        self.progress: Progress | None = None
        self.task = None

    def __enter__(self) -> "TrainProgress":
        if self.enabled:
            self.progress = Progress(TextColumn("[bold]train"), BarColumn(),
                                     TextColumn("{task.completed:.1f}/{task.total:.0f} kimg"),
                                     TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn())
            self.progress.__enter__()
            self.task = self.progress.add_task("train", total=self.total, completed=self.start, info="")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def step(self, kimg: float, stats: dict[str, float], p: float) -> None:
        if self.progress is not None:
            self.progress.update(self.task, completed=kimg,
                                 info=f"G {stats['loss_G']:.2f} D {stats['loss_D']:.2f} p {p:.2f}")

    def tick(self, entry: dict[str, Any]) -> None:
        line = (f"kimg {entry['kimg']:.1f}  {entry['kimg_per_h']:.0f} kimg/h  G {entry.get('loss_G', 0):.3f}  "
                f"D {entry.get('loss_D', 0):.3f}  p {entry['ada_p']:.3f}  rt {entry['ada_rt']:.2f}")
        if self.progress is not None:
            self.progress.console.print(line)
        else:
            print(json.dumps(entry), flush=True)
