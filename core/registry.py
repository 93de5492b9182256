"""The registry: every component contributed by every plugin, by kind and name."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Iterable

from pydantic import BaseModel, ValidationError

from restorefw.component import Component
from restorefw.errors import PluginError, RecipeError
from restorefw.validation import describe_validation_error

KINDS: dict[str, str] = {
    "generator": "restorefw_generators",
    "latent_space": "restorefw_latent_spaces",
    "degradation": "restorefw_degradations",
    "loss": "restorefw_losses",
    "metric": "restorefw_metrics",
    "optimizer": "restorefw_optimizers",
    "dataset": "restorefw_datasets",
}


@dataclass
class Entry:
    """A registered component class and the plugin that provided it."""

    cls: type[Component]
    plugin: str


@dataclass
class Registry:
    """Components by kind and name. Two providers of one name are an error naming both."""

    entries: dict[str, dict[str, Entry]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def add(self, kind: str, cls: type[Component], plugin: str) -> None:
        name = getattr(cls, "name", "")
        if not name:
            raise PluginError(f"plugin {plugin!r} returned {cls!r} as a {kind} without a `name`; "
                              "set the class attribute `name` to the name recipes should use.")
        existing = self.entries[kind].get(name)
        if existing is not None and existing.cls is not cls:
            raise PluginError(
                f"two plugins register the {kind} {name!r}: {existing.plugin!r} and {plugin!r}. "
                f"Uninstall one of them, or allow only one with RESTOREFW_PLUGINS.")
        self.entries[kind][name] = Entry(cls, plugin)

    def names(self, kind: str) -> list[str]:
        return sorted(self.entries[kind])

    def get(self, kind: str, name: str, path: str = "") -> type[Component]:
        """The class registered as `name`, or a RecipeError with a did-you-mean suggestion."""
        try:
            return self.entries[kind][name].cls
        except KeyError:
            pass
        known = self.names(kind)
        close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
        hint = f"Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise RecipeError(
            f"unknown {kind.replace('_', ' ')} {name!r}; known: {', '.join(known) or 'none'}.",
            path=path,
            suggestion=(hint + " " if hint else "") + "Run `restorefw plugins` to see what is installed.")

    def validate_params(self, kind: str, name: str, params: dict[str, Any] | BaseModel | None,
                        path: str = "") -> BaseModel:
        """Validate `params` with the component's own model; errors name `path.params.<field>`."""
        cls = self.get(kind, name, path=f"{path}.type" if path else "type")
        if isinstance(params, cls.Params):
            return params
        try:
            return cls.Params.model_validate(params or {})
        except ValidationError as exc:
            raise describe_validation_error(exc, prefix=f"{path}.params" if path else "params") from None

    def create(self, kind: str, name: str, params: dict[str, Any] | BaseModel | None = None,
               path: str = "") -> Any:
        """Build the component `name` of `kind` after validating its parameters."""
        cls = self.get(kind, name, path=f"{path}.type" if path else "type")
        return cls(self.validate_params(kind, name, params, path))

    def components(self) -> Iterable[tuple[str, str, Entry]]:
        for kind, by_name in self.entries.items():
            for name, entry in sorted(by_name.items()):
                yield kind, name, entry
