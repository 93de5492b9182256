"""The base of every pluggable component: a registered name, a description and a parameter model."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict


class RelativeToRecipe:
    """Marks a `str` parameter as a file path: a relative value is resolved against the recipe's folder."""


RecipePath = Annotated[str, RelativeToRecipe()]
"""A parameter that is a file path but may also be a URL or `scheme:name` (left untouched). Fields
typed `pathlib.Path` are resolved the same way without the marker."""


class NoParams(BaseModel):
    """Parameter model of a component that takes no parameters."""

    model_config = ConfigDict(extra="forbid")


class Params(BaseModel):
    """Base for component parameter models: unknown keys are errors, never silently ignored.

    Fields typed `pathlib.Path` (or `RecipePath`) are file paths: the recipe layer resolves a relative
    value against the recipe's folder before the component is built, so a recipe means the same
    thing from every working directory."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Component:
    """A named, documented, parameterised building block contributed by a plugin.

    Required class attributes: `name` (what recipes write; no spaces, no ":"; `<plugin>:<name>`
    selects one provider when several plugins register a name), `description` (one line for
    `restorefw plugins`). Optional: `Params`, a pydantic model (subclass `restorefw.component.Params`)
    of the parameters, validated by the registry before the component is built as `cls(params)`
    (default: no parameters); `groups`, names of the sets this component belongs to, which the core
    reads instead of naming components (e.g. a metric in "default" is measured by recipes without
    `metrics:`, an optimiser in "default" serves phases without `optimizer:`).
    """

    kind: ClassVar[str] = "component"
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    groups: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: BaseModel | None = None, **kwargs: Any) -> None:
        self.params = params if params is not None else type(self).Params(**kwargs)
