"""Every command line quoted in the docs (`restorefw …`, `python benchmarks/….py …`) names a command and
options that exist."""

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
INDENTED_COMMAND = re.compile(r"^ {4,}(python|restorefw) ")
OPTION = re.compile(r"(?<![\w-])(--[a-z][\w-]*)")


def quoted_code(text: str) -> list[str]:
    """Inline code spans, the lines of fenced code blocks and indented command lines."""
    lines, fenced, pending = [], False, ""
    for line in text.splitlines():
        indented = INDENTED_COMMAND.match(line) or (pending and line.startswith("    "))
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif (fenced or indented) and line.rstrip().endswith("\\"):  # a shell line continued on the next
            pending += line.rstrip()[:-1] + " "
        elif fenced or indented:
            lines.append(pending + line)
            pending = ""
        else:
            lines.extend(CODE_SPAN.findall(line))
    return lines


def quoted_matches(pattern: re.Pattern[str]) -> list[tuple[str, str, re.Match[str]]]:
    """(page, the quoted code, a match of `pattern` in it) over every page."""
    return [(page.relative_to(REPO).as_posix(), code, match) for page in PAGES
            for code in quoted_code(page.read_text()) for match in pattern.finditer(code)]


def command_lines() -> list[tuple[str, str, bool]]:
    """(page, the quoted text from `restorefw` on, whether the code is itself a shell line)."""
    return [(page, match.group(0).strip(), bool(SHELL_LINE.match(code)))
            for page, code, match in quoted_matches(COMMAND)]


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


SCRIPT = re.compile(r"(?<![\w/-])(benchmarks/\w+\.py)((?:\s+[^\s`]+)*)")


SCRIPT_LINES = [(page, match.group(1), match.group(2)) for page, _, match in quoted_matches(SCRIPT)]


@pytest.mark.parametrize("page, script, args", SCRIPT_LINES, ids=[f"{p}:{s}{a[:30]}" for p, s, a in SCRIPT_LINES])
def test_a_quoted_benchmark_line_names_a_script_and_its_options(page, script, args):
    path = REPO / script
    assert path.is_file(), f"{page}: `{script}` does not exist"
    declared = set(re.findall(r"add_argument\(\s*\"(--[\w-]+)\"", path.read_text())) | {"--help"}
    unknown = sorted(set(OPTION.findall(args)) - declared)
    assert not unknown, f"{page}: `{script}{args}`: the script has no option {unknown}"
    missing = [a for a in args.split() if a.startswith(("examples/", "benchmarks/")) and not (REPO / a).exists()]
    assert not missing, f"{page}: `{script}{args}` names files the repository lacks: {missing}"


def test_the_docs_quote_benchmark_scripts_with_options():
    assert sum(bool(OPTION.search(args)) for _, _, args in SCRIPT_LINES) >= 6
