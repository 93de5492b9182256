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


class Strict(BaseModel):
    """A model whose unknown keys are errors, never silently ignored: recipe sections and parameters alike."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class Params(Strict):
    """Base for component parameter models (unknown keys are errors).

    Fields typed `pathlib.Path` (or `RecipePath`) are file paths: the recipe layer resolves a relative
    value against the recipe's folder before the component is built, so a recipe means the same
    thing from every working directory."""


class Component:
    """A named, documented, parameterised building block contributed by a plugin.

    Required class attributes: `name` (what recipes write; no spaces, no ":") and `description`
    (one line for `restorefw plugins`). Optional: `Params`, a pydantic model (subclass
    `restorefw.component.Params`) of the parameters, validated by the registry before the component
    is built as `cls(params)` (`self.params` holds the validated model; default: no parameters); and
    `groups`, names of the sets this component belongs to.

    Two plugins may register one name: each stays reachable as `<plugin>:<name>` (plugin = the
    entry-point name), accepted wherever a name is, and the bare name is then an error listing them.

    The core never names a component; where it needs a default it reads a group's members, in
    registration order: optimizer "default" (phases without `optimizer:`; exactly one may be
    installed), metric "default" (recipes without `metrics:`), metric "folders" and "generator"
    (`restorefw evaluate`'s defaults), metric "paper" and "paper-<layout>" (bench grids without
    `metrics:`, and each table layout's default columns), degradation "single" (bench's `single`,
    and the degradations `combinations` and `all` are built from).

    Parameters that are file paths are typed `pathlib.Path` or `restorefw.component.RecipePath`; a
    relative value is resolved against the recipe's folder before the component is built. Random
    draws come from `restorefw.seeding` with each image's `ImageKey`, never from global RNG state.
    Errors a user can fix raise `restorefw.errors.UserError` naming the field and the fix; absent
    pretrained weights raise `MissingWeightsError` (never downloaded silently).
    """

    kind: ClassVar[str] = "component"
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    groups: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: BaseModel | None = None, **kwargs: Any) -> None:
        self.params = params if params is not None else type(self).Params(**kwargs)
