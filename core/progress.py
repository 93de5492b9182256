"""Progress bars per phase that show the current loss (rich), or nothing when disabled."""

from __future__ import annotations

from typing import Callable

from rich.progress import BarColumn, MofNCompleteColumn, TaskID, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress


class Progress:
    """A context manager handing out step callbacks for the engine."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.bar = RichProgress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("loss {task.fields[loss]:.4f}"), TimeElapsedColumn(),
                                TimeRemainingColumn(), disable=not enabled, transient=False)

    def __enter__(self) -> "Progress":
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def callback(self, label: str) -> Callable[[str, int, int, float], None] | None:
        if not self.enabled:
            return None
        tasks: dict[str, TaskID] = {}

        def on_step(phase: str, step: int, steps: int, loss: float) -> None:
            if phase not in tasks:
                tasks[phase] = self.bar.add_task(f"{label} phase {phase}", total=steps, loss=float("nan"))
            self.bar.update(tasks[phase], completed=step + 1, loss=loss)

        return on_step
