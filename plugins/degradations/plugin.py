"""Entry-point module of the degradations plugin: the components and the `degrade` and `inspect` commands."""

from __future__ import annotations

import click

from restorefw import hookimpl
from restorefw_plugins.degradations.auto import Auto
from restorefw_plugins.degradations.cli import degrade
from restorefw_plugins.degradations.components import ALL_DEGRADATIONS
from restorefw_plugins.degradations.inspect_cli import inspect


@hookimpl
def restorefw_degradations() -> list[type]:
    return [*ALL_DEGRADATIONS, Auto]


@hookimpl
def restorefw_commands(cli: click.Group) -> None:
    cli.add_command(degrade)
    cli.add_command(inspect)
