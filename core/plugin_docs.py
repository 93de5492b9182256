"""The generated half of docs/plugins.md: the hook reference and the conformance rules, read from the code.

The contract lives in the hook specifications' and base classes' docstrings; this module renders them
(with the kit's rules) so that the reference cannot drift: a test compares the file with `reference()`.
Regenerate with `python -m restorefw.plugin_docs docs/plugins.md`.
"""

from __future__ import annotations

import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any, Callable

from restorefw import hookspecs
from restorefw.component import Component
from restorefw.registry import KINDS
from restorefw.testing import CHECKS, RULES

START = "<!-- generated reference: edit the docstrings, then run `python -m restorefw.plugin_docs docs/plugins.md` -->"
END = "<!-- end of generated reference -->"
COMMON = "rules-every-component-follows"
REFERENCE = re.compile(r"`(restorefw\.[a-z_]+\.[A-Z][A-Za-z]+)`")
LOCAL = re.compile(r"`([A-Z][A-Za-z]+)`")


def _doc(obj: object) -> str:
    return inspect.cleandoc(obj.__doc__ or "")


def _resolve(dotted: str) -> type | None:
    module, _, name = dotted.rpartition(".")
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _signature(fn: Callable[..., Any]) -> str:
    """`(a: T, b: U = d) -> R` with annotations as written (not quoted)."""
    sig = inspect.signature(fn)
    parts = []
    for param in sig.parameters.values():
        text = ("**" if param.kind is param.VAR_KEYWORD else "*" if param.kind is param.VAR_POSITIONAL else "")
        text += param.name
        if param.annotation is not param.empty:
            text += f": {param.annotation}"
        if param.default is not param.empty:
            text += f" = {param.default!r}"
        parts.append(text)
    returns = "" if sig.return_annotation is sig.empty else f" -> {sig.return_annotation}"
    return f"({', '.join(parts)}){returns}"


def _hooks() -> list:
    """The hook specifications, in the order hookspecs.py declares them."""
    specs = [f for n, f in vars(hookspecs).items() if n.startswith("restorefw_") and inspect.isfunction(f)]
    return sorted(specs, key=lambda f: f.__code__.co_firstlineno)


def _members(cls: type) -> list[str]:
    """The class attributes and public methods `cls` itself declares, with signatures and docstrings."""
    lines = []
    for name, annotation in getattr(cls, "__annotations__", {}).items():
        if not name.startswith("_"):
            default = f" = {getattr(cls, name)!r}" if name in vars(cls) else ""
            lines.append(f"- `{name}: {annotation}{default}`")
    for name, member in vars(cls).items():
        if name.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
            continue
        if isinstance(member, property):
            lines.append(f"- `{name}` (property)" + (f": {_doc(member)}" if member.__doc__ else ""))
            continue
        signature = _signature(member)
        text = _doc(member).replace("\n", "\n  ") if member.__doc__ else ""
        lines.append(f"- `{name}{signature}`" + (f"\n  {text}" if text else ""))
    return lines


def _classes(doc: str, seen: set[str]) -> list[str]:
    """The classes a docstring names as `restorefw.module.Class`, and the ones those name (one level)."""
    found = []
    for dotted in REFERENCE.findall(doc):
        cls = _resolve(dotted)
        if dotted in seen or not isinstance(cls, type):
            continue
        seen.add(dotted)
        found.append(dotted)
        named = REFERENCE.findall(_doc(cls)) + [f"{cls.__module__}.{n}" for n in LOCAL.findall(_doc(cls))]
        for other in named:
            if other not in seen and isinstance(_resolve(other), type):
                seen.add(other)
                found.append(other)
    return found


def _rules(section: str) -> list[str]:
    return [f"- `{rule.id}`: {rule.text}" for rule in RULES.values() if rule.section == section]


def reference() -> str:
    """The generated reference, Markdown, between START and END."""
    out = [START, "", "## Rules every component follows", "", _doc(Component), "",
           "Conformance rules (checked for every kind by `restorefw.testing`):", "", *_rules(COMMON), "",
           "## Hook reference", "", _doc(hookspecs), ""]
    checks = {KINDS[kind]: fn.__name__ for kind, fn in CHECKS.items()}
    seen = {"restorefw.component.Component"}
    for hook in _hooks():
        out += [f"### `{hook.__name__}`", "", f"`{hook.__name__}{_signature(hook)}`", "", _doc(hook), ""]
        for dotted in _classes(_doc(hook), seen):
            cls = _resolve(dotted)
            assert cls is not None  # _classes keeps only names that resolve to classes
            out += [f"#### `{dotted}`", "", _doc(cls), ""]
            members = _members(cls)
            out += [*members, ""] if members else []
        rules = _rules(hook.__name__)
        if rules:
            out += [f"Conformance rules (`restorefw.testing.{checks[hook.__name__]}`):", "", *rules, ""]
    return "\n".join(out).rstrip() + "\n\n" + END


def generated_part(text: str) -> str | None:
    """The generated block of a docs file, or None when it has none."""
    start, end = text.find(START), text.find(END)
    return None if start < 0 or end < start else text[start:end + len(END)]


def write(path: Path) -> None:
    """Replace the generated block of `path` (or append one) with the current reference."""
    text = path.read_text()
    old = generated_part(text)
    text = text.replace(old, reference()) if old else text.rstrip() + "\n\n" + reference() + "\n"
    path.write_text(text)


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/plugins.md"))
