"""Every `restorefw …` command line quoted in the docs names a command and options that exist."""

from __future__ import annotations

import re

import click
import pytest
from conftest import REPO

from restorefw.cli import cli

PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"), *(REPO / "contrib").glob("*/README.md")])
CODE_SPAN = re.compile(r"`([^`\n]+)`")
COMMAND = re.compile(r"(?<![\w./-])restorefw((?:\s+--?[\w-]+)*(?:\s+[a-z][\w-]*)+)(.*)")
SHELL_LINE = re.compile(r"^\s*(\$\s+)?restorefw\s")
OPTION = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")


def quoted_code(text: str) -> list[str]:
    """Inline code spans and the lines of fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            lines.append(line)
        else:
            lines.extend(CODE_SPAN.findall(line))
    return lines


def command_lines() -> list[tuple[str, str, bool]]:
    """(page, the quoted text from `restorefw` on, whether the code is itself a shell line)."""
    found = []
    for page in PAGES:
        for code in quoted_code(page.read_text()):
            for match in COMMAND.finditer(code):
                found.append((page.relative_to(REPO).as_posix(), match.group(0).strip(),
                              bool(SHELL_LINE.match(code))))
    return found


def resolve(words: list[str]) -> tuple[list[click.Command], list[str]]:
    """The command path the words name (the group first), and the words left after it."""
    path: list[click.Command] = [cli]
    ctx = click.Context(cli)
    rest = list(words)
    while rest and isinstance(path[-1], click.Group):
        word = rest[0]
        if word.startswith("-"):
            rest.pop(0)
            continue
        sub = path[-1].get_command(ctx, word)
        if sub is None:
            break
        path.append(sub)
        rest.pop(0)
    return path, rest


def options_of(path: list[click.Command]) -> set[str]:
    names = {"--help"}
    for command in path:
        for param in command.params:
            names.update(o for o in [*param.opts, *param.secondary_opts] if o.startswith("--"))
    return names


LINES = command_lines()


def test_the_docs_quote_restorefw_commands():
    assert len(LINES) > 30
    assert {"run", "bench", "plugins"} <= {resolve(line.split()[1:])[0][-1].name for _, line, _ in LINES}


@pytest.mark.parametrize("page, line, shell", LINES, ids=[f"{p}:{line[:40]}" for p, line, _ in LINES])
def test_a_quoted_command_line_names_real_options(page, line, shell):
    words = line.split()[1:]
    path, rest = resolve(words)
    if len(path) == 1:  # prose such as `from restorefw import …`: only a shell line must name a command
        assert not shell, f"{page}: `{line}` names no restorefw command ({rest[0]!r})"
        return
    unknown = sorted(set(OPTION.findall(" ".join(words))) - options_of(path))
    assert not unknown, f"{page}: `{line}`: {' '.join(['restorefw', *(c.name or '' for c in path[1:])])} has no option {unknown}"
