"""The registry: every component contributed by every plugin, by kind and name.

A name may be registered by several plugins; each provider stays reachable by its qualified name
`<plugin>:<name>` (plugin = the entry-point name `restorefw plugins` shows), and the bare name is
then ambiguous: using it is an error that names every provider.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from restorefw.component import Component
from restorefw.dataset import Dataset
from restorefw.degradation import Degradation
from restorefw.errors import PluginError, RecipeError
from restorefw.generator import Generator
from restorefw.latent import LatentSpace
from restorefw.loss import Loss
from restorefw.metric import Metric
from restorefw.optimizer import Optimizer
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
BASES: dict[str, type[Component]] = {
    "generator": Generator, "latent_space": LatentSpace, "degradation": Degradation, "loss": Loss,
    "metric": Metric, "optimizer": Optimizer, "dataset": Dataset,
}
SEPARATOR = ":"


def split_qualified(name: str) -> tuple[str | None, str]:
    """`plugin:name` → ("plugin", "name"); a bare `name` → (None, "name")."""
    plugin, sep, bare = str(name).rpartition(SEPARATOR)
    return (plugin, bare) if sep else (None, bare)


def check_component(kind: str, cls: Any, plugin: str) -> None:
    """Raise PluginError unless `cls` is a usable component class of `kind`."""
    hook, base = KINDS[kind], BASES[kind]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"{hook} of plugin {plugin!r} returned {cls!r}, which is not a subclass of "
                          f"{base.__module__}.{base.__name__}; return the component classes themselves.")
    name = getattr(cls, "name", "")
    if not isinstance(name, str) or not name.strip():
        raise PluginError(f"plugin {plugin!r} returned {cls.__name__} as a {kind} without a `name`; set the class "
                          "attribute `name` to the name recipes should use.")
    if SEPARATOR in name or name != name.strip() or any(ch.isspace() for ch in name):
        raise PluginError(f"plugin {plugin!r}: the {kind} name {name!r} may not contain spaces or "
                          f"{SEPARATOR!r} ({SEPARATOR!r} separates a plugin from a name, as in `{plugin}:name`).")
    params = getattr(cls, "Params", None)
    if not (isinstance(params, type) and issubclass(params, BaseModel)):
        raise PluginError(f"plugin {plugin!r}: the {kind} {name!r} has `Params` = {params!r}; it must be a pydantic "
                          "model (subclass restorefw.component.Params).")
    groups = getattr(cls, "groups", ())
    if not isinstance(groups, (tuple, list)) or not all(isinstance(g, str) and g for g in groups):
        raise PluginError(f"plugin {plugin!r}: the {kind} {name!r} declares groups {groups!r}; declare a tuple "
                          "of names.")
    if kind == "degradation":
        _check_vocabulary(cls, plugin)


def _check_vocabulary(cls: type[Any], plugin: str) -> None:
    """A degradation's declared levels and letter are well-formed."""
    where = f"plugin {plugin!r}: the degradation {cls.name!r}"
    levels = cls.levels
    if not isinstance(levels, (tuple, list)) or not all(isinstance(v, str) and v for v in levels) \
            or len(set(levels)) != len(levels):
        raise PluginError(f"{where} declares levels {levels!r}; declare a tuple of distinct names, weakest first.")
    if levels and "level" not in cls.Params.model_fields:
        raise PluginError(f"{where} declares levels but its Params has no `level` field to receive one.")
    if cls.default_level is not None and cls.default_level not in levels:
        raise PluginError(f"{where} declares default_level {cls.default_level!r}, which is not one of its levels.")
    if cls.letter is not None and not (isinstance(cls.letter, str) and len(cls.letter) == 1 and cls.letter.isalpha()):
        raise PluginError(f"{where} declares letter {cls.letter!r}; a letter is one alphabetic character.")


@dataclass
class Entry:
    """A registered component class and the plugin that provided it."""

    cls: type[Component]
    plugin: str

    def qualified(self) -> str:
        return f"{self.plugin}{SEPARATOR}{self.cls.name}"


@dataclass
class Registry:
    """Components by kind and name, in registration order."""

    entries: dict[str, dict[str, list[Entry]]] = field(default_factory=lambda: {k: {} for k in KINDS})

    def add(self, kind: str, cls: type[Component], plugin: str) -> None:
        """Register `cls` (checked with `check_component`) as provided by `plugin`."""
        check_component(kind, cls, plugin)
        providers = self.entries[kind].setdefault(cls.name, [])
        for entry in providers:
            if entry.plugin == plugin:
                if entry.cls is cls:
                    return
                raise PluginError(f"plugin {plugin!r} registers two different {kind} classes named {cls.name!r}.")
        providers.append(Entry(cls, plugin))

    def names(self, kind: str) -> list[str]:
        """Bare names, sorted (an ambiguous name is listed once)."""
        return sorted(self.entries[kind])

    def conflicts(self) -> list[tuple[str, str, list[str]]]:
        """(kind, name, plugins) for every name that several plugins register."""
        return [(kind, name, [e.plugin for e in providers]) for kind, by_name in self.entries.items()
                for name, providers in by_name.items() if len(providers) > 1]

    def entry(self, kind: str, name: str, path: str = "") -> Entry:
        """The entry for a bare or qualified `name`; unknown or ambiguous names are RecipeErrors."""
        plugin, bare = split_qualified(name)
        providers = self.entries[kind].get(bare, [])
        if plugin is not None:
            providers = [e for e in providers if e.plugin == plugin]
        if len(providers) == 1:
            return providers[0]
        what = kind.replace("_", " ")
        if providers:
            choices = " or ".join(repr(e.qualified()) for e in providers)
            raise RecipeError(
                f"the {what} {name!r} is registered by {len(providers)} plugins "
                f"({', '.join(repr(e.plugin) for e in providers)}).", path=path,
                suggestion=f"Write {choices}, or disable the plugins you do not want with "
                           f"RESTOREFW_DISABLE_PLUGINS=<plugin>[,<plugin>...].")
        known = self.names(kind)
        close = difflib.get_close_matches(bare, known, n=3, cutoff=0.5)
        hint = f"Did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        where = f" from plugin {plugin!r}" if plugin is not None else ""
        raise RecipeError(f"unknown {what} {name!r}{where}; known: {', '.join(known) or 'none'}.", path=path,
                          suggestion=hint + "Run `restorefw plugins` to see what is installed.")

    def get(self, kind: str, name: str, path: str = "") -> type[Any]:
        """The class registered as `name` (bare or `plugin:name`), or a RecipeError with a did-you-mean; typed
        `Any` because its attributes are those of its kind's base class (a Degradation's `letter`, ...)."""
        return self.entry(kind, name, path).cls

    def group(self, kind: str, group: str) -> list[str]:
        """Names of the components of `kind` that declare `group`, in registration order (qualified
        `<plugin>:<name>` where several plugins register the name)."""
        return [e.qualified() if len(self.entries[kind][e.cls.name]) > 1 else e.cls.name
                for providers in self.entries[kind].values() for e in providers if group in e.cls.groups]

    def name_of(self, kind: str, cls: type[Component]) -> str:
        """The name that selects `cls`: its bare name, or `<plugin>:<name>` where several plugins share it."""
        providers = self.entries[kind][cls.name]
        entry = next(e for e in providers if e.cls is cls)
        return entry.qualified() if len(providers) > 1 else cls.name

    def classes(self, kind: str) -> list[type[Any]]:
        """Every class of `kind`, in registration order (one per provider)."""
        return [e.cls for providers in self.entries[kind].values() for e in providers]

    def validate_params(self, kind: str, name: str, params: dict[str, Any] | BaseModel | None,
                        path: str = "") -> BaseModel:
        """Validate `params` with the component's own model; errors name `path.params.<field>`."""
        cls = self.get(kind, name, path=f"{path}.type" if path else "type")
        if isinstance(params, cls.Params):
            return params
        try:
            return cls.Params.model_validate(params or {})
        except ValidationError as exc:
            raise describe_validation_error(exc, prefix=f"{path}.params" if path else "params",
                                            model=cls.Params) from None

    def create(self, kind: str, name: str, params: dict[str, Any] | BaseModel | None = None,
               path: str = "") -> Any:
        """Build the component `name` of `kind` after validating its parameters."""
        cls = self.get(kind, name, path=f"{path}.type" if path else "type")
        return cls(self.validate_params(kind, name, params, path))

    def components(self) -> Iterable[tuple[str, str, Entry]]:
        for kind, by_name in self.entries.items():
            for name, providers in sorted(by_name.items()):
                for entry in providers:
                    yield kind, name, entry
