"""Read a YAML file defensively: UTF-8 only, bounded size, depth and alias expansion, duplicate keys refused.

Every problem is a RecipeError naming the file and line; nothing here raises anything else. The size,
depth and expansion checks walk PyYAML's event stream (which is not recursive) before any node tree
is built, so alias bombs and deeply nested documents are refused in bounded time and memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from restorefw.errors import RecipeError

MAX_BYTES = 1 << 20
MAX_DEPTH = 64
MAX_NODES = 100_000
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class DuplicateKeyError(ConstructorError):
    """A mapping gives the same key twice."""


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping is an error, not last-wins."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first is not key_node:
                raise DuplicateKeyError(
                    None, None, f"the key {key!r} is given twice in one mapping (first on line "
                                f"{first.start_mark.line + 1}); YAML would silently keep only the last",
                    key_node.start_mark)
        return super().construct_mapping(node, deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError, KeyError) as exc:
            shown = node.value if isinstance(node, yaml.ScalarNode) else getattr(node, "id", "node")
            raise ConstructorError(None, None, f"cannot read {shown!r} as {node.tag.rsplit(':', 1)[-1]} ({exc})",
                                   node.start_mark) from None


def decode(data: bytes, path: Path, what: str) -> str:
    """The file's text: UTF-8 (a BOM is allowed), or UTF-16 with a BOM."""
    try:
        if data.startswith(UTF16_BOMS):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise RecipeError(f"the {what} is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded).",
                          file=str(path), line=line,
                          suggestion="Save the file as UTF-8 (most editors offer it under 'Save as' or "
                                     "'Encoding').") from None


def check_shape(text: str, path: Path, what: str) -> None:
    """Refuse documents that would nest too deeply or expand (through aliases) into too many nodes."""
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[None, 0]]  # per open collection: [anchor, expanded size so far]
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            stack.append([event.anchor, 1])
            if len(stack) - 1 > MAX_DEPTH:
                raise RecipeError(f"the {what} nests deeper than {MAX_DEPTH} levels.", file=str(path), line=line,
                                  suggestion="A recipe or grid needs a handful of levels; check the brackets.")
            continue
        if isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            anchor, size = stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, sizes.get(event.anchor or "", 1)
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        stack[-1][1] += size
        if stack[0][1] > MAX_NODES or size > MAX_NODES:
            raise RecipeError(f"the {what} expands to more than {MAX_NODES:,} values through its aliases (*name).",
                              file=str(path), line=line,
                              suggestion="Aliases that repeat aliases grow exponentially (a 'billion laughs' "
                                         "document); write the values out or use fewer levels of aliases.")


def parse_text(text: str, path: Path, what: str = "recipe") -> Any:
    """The data of a YAML document, checked as described in the module docstring."""
    try:
        check_shape(text, path, what)
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        duplicate = isinstance(exc, DuplicateKeyError)
        raise RecipeError(f"{'' if duplicate else 'not valid YAML: '}{problem}.", file=str(path),
                          line=mark.line + 1 if mark else None,
                          suggestion="Remove one of the two." if duplicate else
                          "Check indentation, quoting and brackets around that line.") from None


def read_text(path: Path, what: str = "recipe") -> str:
    """A YAML file's text; missing, unreadable, oversized and non-UTF-8 files are RecipeErrors."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise RecipeError(f"cannot read the {what} ({exc.strerror or exc}).", file=str(path),
                          suggestion="Check the path.") from None
    if len(data) > MAX_BYTES:
        raise RecipeError(f"the {what} is larger than {MAX_BYTES >> 20} MiB, far more than any {what} needs.",
                          file=str(path), suggestion=f"Check that this is the {what} you meant.")
    return decode(data, path, what)
