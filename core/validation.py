"""Turn pydantic validation errors into one RecipeError that lists every problem with its YAML path."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from restorefw.errors import RecipeError


def format_path(parts: tuple) -> str:
    """`("losses", 2, "params", "scales")` → `losses[2].params.scales`."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def join_path(prefix: str, rest: str) -> str:
    if not prefix:
        return rest
    if not rest:
        return prefix
    return prefix + rest if rest.startswith("[") else f"{prefix}.{rest}"


def _is_union_tag(part: object) -> bool:
    """Pydantic inserts the member type of a union (`DegradationSpec`, `list[...]`) into error paths."""
    return isinstance(part, str) and ("[" in part or part.startswith("function-") or part[:1].isupper())


def fields_at(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    """Names of the fields allowed at `loc` (the parent of an offending key) in `model`."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or _is_union_tag(part):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        current = _model_in(current.model_fields[part].annotation)
    return sorted(current.model_fields) if isinstance(current, type) and issubclass(current, BaseModel) else []


def _model_in(annotation: Any) -> Any:
    """The BaseModel class inside an annotation such as `list[X] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _one_branch(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Keep, at every union in the data, only the errors of the member pydantic tried first."""
    chosen: dict[tuple, int | str] = {}
    kept = []
    for error in errors:
        prefix: tuple = ()
        for part in error["loc"]:
            if _is_union_tag(part) and chosen.setdefault(prefix, part) != part:
                break
            prefix += (part,)
        else:
            kept.append(error)
    return kept


def describe_validation_error(exc: ValidationError, prefix: str = "", model: type[BaseModel] | None = None,
                              what: str = "recipe") -> RecipeError:
    """Every problem of `exc` in one RecipeError (the first one's fields, the rest in `problems`).

    A missing required key is reported together with an unknown key of the same section that is
    close to it ("unknown key 'imagse'. Did you mean 'images' (required)?"); `model` gives the
    allowed keys for did-you-mean suggestions, `what` names the file kind ("recipe", "grid").
    """
    errors = _one_branch(exc.errors(include_url=False))
    entries = [(tuple(p for p in e["loc"] if not _is_union_tag(p)), e) for e in errors]
    missing = [loc for loc, e in entries if e["type"] == "missing"]
    hints: dict[tuple, str] = {}
    for loc, error in entries:
        if error["type"] != "extra_forbidden":
            continue
        key, parent = str(loc[-1]) if loc else "?", loc[:-1]
        candidates = fields_at(model, parent)
        absent = [str(m[-1]) for m in missing if m[:-1] == parent and m not in hints]
        close = difflib.get_close_matches(key, absent, n=1)
        if close:
            hints[parent + (close[0],)] = key
            hint = f"Did you mean {close[0]!r} (required, and missing)?"
        elif close := difflib.get_close_matches(key, candidates, n=1):
            hint = f"Did you mean {close[0]!r}?"
        else:
            hint = "Remove it or check the spelling; unknown keys are never ignored."
        hints[loc] = hint + (f" Allowed here: {', '.join(candidates)}." if candidates else "")
    problems: list[RecipeError] = []
    for loc, error in entries:
        path = join_path(prefix, format_path(loc))
        if error["type"] == "extra_forbidden":
            problems.append(RecipeError(f"unknown key {str(loc[-1]) if loc else '?'!r}.", path=path,
                                        suggestion=hints[loc]))
        elif error["type"] == "missing":
            if loc not in hints:
                problems.append(RecipeError("this field is required but missing.", path=path,
                                            suggestion=f"Add it to the {what}."))
        else:
            got = error.get("input")
            shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
            problems.append(RecipeError(f"{error['msg']} (got {shown}).", path=path))
    return combine(problems)


def combine(problems: list[RecipeError]) -> RecipeError:
    """One error reporting every problem of `problems` (which must not be empty)."""
    flat = [p for problem in problems for p in problem.problems]
    if len(flat) == 1:
        return flat[0]
    first = flat[0]
    return RecipeError(first.detail, file=first.file, path=first.path, line=first.line,
                       suggestion=first.suggestion, more=flat[1:])
