"""Entry-point module of the degradations plugin: the components and the `degrade` command."""

from __future__ import annotations

import click

from restorefw import hookimpl
from restorefw_plugins.degradations.cli import degrade
from restorefw_plugins.degradations.components import ALL_DEGRADATIONS


@hookimpl
def restorefw_degradations() -> list[type]:
    return list(ALL_DEGRADATIONS)


@hookimpl
def restorefw_commands(cli: click.Group) -> None:
    cli.add_command(degrade)
