"""Extension points of restorefw: one documented pluggy hook specification per component kind.

A plugin is a module (or object) registered under the entry-point group ``restorefw`` in its
distribution's metadata. It implements any of the hooks below, marked with ``@restorefw.hookimpl``
(an unmarked function named ``restorefw_*`` counts too, so that a misspelt hook is reported). Each
component hook takes no arguments and returns a list of component classes: subclasses of the kind's
base class, each with ``name``, ``description`` and optionally ``Params`` and ``groups``. The full
contract of each kind is the docstring of its base class. A plugin whose hooks fail to validate,
raise, or return something that is not a component of the kind is reported by ``restorefw plugins``
and contributes nothing; the other plugins keep working.
"""

from __future__ import annotations

import click
import pluggy

PROJECT = "restorefw"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def restorefw_generators() -> list[type]:
    """Return generator classes (`restorefw.generator.Generator` subclasses): image priors whose
    `load(device)` returns a frozen network following `restorefw.generator.GeneratorNetwork`."""


@hookspec
def restorefw_latent_spaces() -> list[type]:
    """Return latent-space classes (`restorefw.latent.LatentSpace` subclasses): the tensor a phase
    optimises (W, W+, W++, ...) and how it turns into styles for `G.synthesis`."""


@hookspec
def restorefw_degradations() -> list[type]:
    """Return degradation classes (`restorefw.degradation.Degradation` subclasses): per batch, a true
    operator that makes targets and a differentiable stand-in f̂ used inside the loss; optionally
    named levels, a letter and groups for recipes and bench grids."""


@hookspec
def restorefw_losses() -> list[type]:
    """Return loss classes (`restorefw.loss.Loss` subclasses): torch modules computed between
    f̂(G(w)) and the degraded target, one value per image."""


@hookspec
def restorefw_metrics() -> list[type]:
    """Return metric classes (`restorefw.metric.Metric` subclasses): paired (one score per image) or
    over sets of images."""


@hookspec
def restorefw_optimizers() -> list[type]:
    """Return optimiser classes (`restorefw.optimizer.Optimizer` subclasses): how a phase moves its
    latent tensor."""


@hookspec
def restorefw_datasets() -> list[type]:
    """Return dataset classes (`restorefw.dataset.Dataset` subclasses): named image collections
    that recipes (`inputs.dataset`), bench grids and `restorefw train` use."""


@hookspec
def restorefw_commands(cli: click.Group) -> None:
    """Add click commands to the `restorefw` command group with `cli.add_command(...)`; raise
    `restorefw.errors.UserError` for mistakes a user can fix (one paragraph, exit code 2)."""
