"""Entry point of the iqa plugin: losses, metrics and the `restorefw weights` command."""

from __future__ import annotations

from restorefw import hookimpl
from restorefw_plugins.iqa.commands import weights_command
from restorefw_plugins.iqa.losses import LOSSES
from restorefw_plugins.iqa.metrics import METRICS
from restorefw_plugins.iqa.piq_losses import PIQ_LOSSES


@hookimpl
def restorefw_losses():
    return [*LOSSES, *PIQ_LOSSES]


@hookimpl
def restorefw_metrics():
    return METRICS


@hookimpl
def restorefw_commands(cli):
    cli.add_command(weights_command)
