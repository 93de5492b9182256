"""Errors a user can cause, each rendered as one paragraph on stderr by the CLI."""

from __future__ import annotations


class RestoreError(Exception):
    """Base of every restorefw error that the CLI reports without a traceback."""

    exit_code = 1


class UserError(RestoreError):
    """Bad input or usage (a recipe, a file, a plugin name): exit code 2."""

    exit_code = 2


class RecipeError(UserError):
    """A recipe field is invalid; `path` is the YAML path such as `losses[2].params.scales`."""

    def __init__(self, message: str, *, file: str | None = None, path: str = "", line: int | None = None,
                 suggestion: str | None = None) -> None:
        self.file, self.path, self.line, self.suggestion, self.detail = file, path, line, suggestion, message
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "recipe"
        if self.path:
            where += f": {self.path}"
        if self.line is not None:
            where += f" (line {self.line})"
        text = f"{where}: {self.detail}"
        if self.suggestion:
            text += f" {self.suggestion}"
        return text

    def located(self, file: str | None, line_of: "callable | None" = None) -> "RecipeError":
        """Return a copy of this error that names the recipe file and the YAML line of its path."""
        line = self.line if self.line is not None or line_of is None else line_of(self.path)
        return RecipeError(self.detail, file=file or self.file, path=self.path, line=line, suggestion=self.suggestion)


class WorkError(RestoreError):
    """A failure while doing the work (I/O, numerical): exit code 1."""

    exit_code = 1


class MissingWeightsError(UserError):
    """Pretrained weights are not on disk; the message names the file, its size, sha256 and where to put it."""


class PluginError(UserError):
    """A plugin failed to load, or two plugins clash."""
