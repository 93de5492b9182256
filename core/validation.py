"""Turn pydantic validation errors into one-paragraph RecipeErrors that name the YAML path."""

from __future__ import annotations

import difflib

from pydantic import ValidationError

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


def describe_validation_error(exc: ValidationError, prefix: str = "", known_fields: list[str] | None = None) -> RecipeError:
    """The first error of `exc` as a RecipeError; the remaining count is mentioned."""
    errors = exc.errors(include_url=False)
    first = errors[0]
    branch = [p for p in first["loc"] if _is_union_tag(p)]
    errors = [e for e in errors if [p for p in e["loc"] if _is_union_tag(p)] == branch]
    loc = tuple(p for p in first["loc"] if not _is_union_tag(p))
    path = join_path(prefix, format_path(loc))
    kind = first["type"]
    suggestion = None
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else "?"
        message = f"unknown key {key!r}."
        candidates = known_fields or []
        close = difflib.get_close_matches(key, candidates, n=1)
        suggestion = f"Did you mean {close[0]!r}?" if close else "Remove it or check the spelling; unknown keys are never ignored."
        if candidates:
            suggestion += f" Allowed here: {', '.join(candidates)}."
    elif kind == "missing":
        message = "this field is required but missing."
        suggestion = "Add it to the recipe."
    else:
        got = first.get("input")
        shown = repr(got) if not isinstance(got, (dict, list)) else type(got).__name__
        message = f"{first['msg']} (got {shown})."
    if len(errors) > 1:
        message += f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} after this one.)"
    return RecipeError(message, path=path, suggestion=suggestion)
