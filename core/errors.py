"""Errors a user can cause, each rendered as one paragraph on stderr by the CLI."""

from __future__ import annotations

from collections.abc import Callable, Sequence


class RestoreError(Exception):
    """Base of every restorefw error that the CLI reports without a traceback."""

    exit_code = 1


class UserError(RestoreError):
    """Bad input or usage (a recipe, a file, a plugin name): exit code 2."""

    exit_code = 2


class RecipeError(UserError):
    """A recipe (or grid) field is invalid; `path` is the YAML path such as `losses[2].params.scales`.

    One error may report several problems of a file: `problems` lists them all (this one first),
    each with its own path, line and suggestion; `paths` are their paths.
    """

    def __init__(self, message: str, *, file: str | None = None, path: str = "", line: int | None = None,
                 suggestion: str | None = None, more: Sequence[RecipeError] = ()) -> None:
        self.file, self.path, self.line, self.suggestion, self.detail = file, path, line, suggestion, message
        self.more = list(more)
        super().__init__(self.render())

    @property
    def problems(self) -> list[RecipeError]:
        return [self, *self.more]

    @property
    def paths(self) -> list[str]:
        return [problem.path for problem in self.problems]

    def _where(self) -> str:
        where = self.path
        if self.line is not None:
            where += f" (line {self.line})"
        return where

    def _text(self) -> str:
        return self.detail + (f" {self.suggestion}" if self.suggestion else "")

    def render(self) -> str:
        if self.more:
            lines = [f"{self.file or 'recipe'}: {len(self.problems)} problems:"]
            lines += [f"  {p._where()}: {p._text()}" if p.path else f"  {p._text()}" for p in self.problems]
            return "\n".join(lines)
        where = self.file or "recipe"
        if self.path:
            where += f": {self._where()}"
        elif self.line is not None:
            where += f" (line {self.line})"
        return f"{where}: {self._text()}"

    def located(self, file: str | None, line_of: Callable[[str], int | None] | None = None) -> RecipeError:
        """Return a copy of this error that names the file and the YAML line of each problem's path."""
        located = [RecipeError(p.detail, file=file or p.file, path=p.path, suggestion=p.suggestion,
                               line=p.line if p.line is not None or line_of is None else line_of(p.path))
                   for p in self.problems]
        located.sort(key=lambda p: (p.line is None, p.line or 0))
        first = located[0]
        return RecipeError(first.detail, file=first.file, path=first.path, line=first.line,
                           suggestion=first.suggestion, more=located[1:])


class WorkError(RestoreError):
    """A failure while doing the work (I/O, numerical): exit code 1."""

    exit_code = 1


class CannotMeasure(RestoreError):
    """A metric cannot measure these images (e.g. smaller than its network allows): the score is n/a
    with this message as the reason, and the run goes on."""


class MissingWeightsError(UserError):
    """Pretrained weights are not on disk; the message names the file, its size, sha256 and where to put it."""


class PluginError(UserError):
    """A plugin failed to load, or two plugins clash."""
