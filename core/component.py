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

    Subclasses set `name` (the name recipes use), `description` (one line) and `Params`
    (a pydantic model, validated by the registry before the component is built).
    """

    kind: ClassVar[str] = "component"
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: BaseModel | None = None, **kwargs: Any) -> None:
        self.params = params if params is not None else type(self).Params(**kwargs)
