"""Rules every component follows: name, description, base class, a strict Params model, building, pickling."""

from __future__ import annotations

import pickle
import sys
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from restorefw.errors import PluginError
from restorefw.registry import check_component
from restorefw.testing.rules import Checker

UNKNOWN_KEY = "restorefw_kit_unknown_key"


def check_common(checker: Checker, kind: str, cls: type, base: type, params: dict[str, Any]) -> Any:
    """Check the rules shared by every kind and return the component built from `params`."""
    name = getattr(cls, "name", None)
    checker.require(isinstance(name, str) and bool(name) and not any(ch.isspace() for ch in name),
                    "component.name", f"`name` is {name!r}")
    checker.report.passed.append("component.name")
    description = getattr(cls, "description", None)
    checker.require(isinstance(description, str) and bool(description.strip()) and "\n" not in description,
                    "component.description", f"`description` is {description!r}")
    checker.report.passed.append("component.description")
    checker.require(isinstance(cls, type) and issubclass(cls, base), "component.base-class",
                    f"{cls!r} does not subclass {base.__module__}.{base.__qualname__}")
    checker.report.passed.append("component.base-class")
    model = getattr(cls, "Params", None)
    if not isinstance(model, type) or not issubclass(model, BaseModel):
        checker.fail("params.model", f"`Params` is {model!r}, not a pydantic model")
    model = cast(type[BaseModel], model)
    checker.report.passed.append("params.model")
    try:
        check_component(kind, cls, "your-plugin")
    except PluginError as exc:
        checker.fail("component.registers", str(exc))
    checker.report.passed.append("component.registers")
    with checker.rule("component.builds"):
        validated = model.model_validate(params)
    try:
        model.model_validate({**params, UNKNOWN_KEY: 1})
    except ValidationError:
        checker.report.passed.append("params.unknown-keys")
    else:
        checker.fail("params.unknown-keys", f"`Params` accepted the unknown key {UNKNOWN_KEY!r}; "
                                            "derive it from restorefw.component.Params (extra='forbid')")
    with checker.rule("component.builds"):
        component = cls(validated)
    if _importable(cls):
        with checker.rule("component.pickles"):
            pickle.loads(pickle.dumps(component))
    return component


def _importable(cls: type) -> bool:
    """Whether pickle can name `cls` (defined at module level, not inside a function)."""
    owner = sys.modules.get(cls.__module__)
    target: Any = owner
    for part in cls.__qualname__.split("."):
        target = getattr(target, part, None)
    return target is cls
