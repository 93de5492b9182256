"""Extension points of restorefw: one documented pluggy hook specification per component kind.

A plugin is a module registered under the entry-point group ``restorefw``. It implements any of the
hooks below with ``@restorefw.hookimpl``; each component hook returns a list of component classes
(subclasses of the kind's base class, each with ``name``, ``description`` and ``Params``).
"""

from __future__ import annotations

import click
import pluggy

PROJECT = "restorefw"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def restorefw_generators() -> list[type]:
    """Return generator classes (`restorefw.generator.Generator` subclasses): image priors such as
    StyleGAN2-ADA, each loading a frozen network from a checkpoint."""


@hookspec
def restorefw_latent_spaces() -> list[type]:
    """Return latent-space classes (`restorefw.latent.LatentSpace` subclasses): the tensors a phase
    optimises (W, W+, W++, ...) and how they turn into generator styles."""


@hookspec
def restorefw_degradations() -> list[type]:
    """Return degradation classes (`restorefw.degradation.Degradation` subclasses): a true operator
    that makes targets and a differentiable stand-in used inside the loss."""


@hookspec
def restorefw_losses() -> list[type]:
    """Return loss classes (`restorefw.loss.Loss` subclasses), computed between f̂(G(w)) and the
    degraded target, one value per image."""


@hookspec
def restorefw_metrics() -> list[type]:
    """Return metric classes (`restorefw.metric.Metric` subclasses), paired (PSNR, LPIPS) or over
    sets of images (FID, PFID)."""


@hookspec
def restorefw_optimizers() -> list[type]:
    """Return optimiser classes (`restorefw.optimizer.Optimizer` subclasses) such as NGD and Adam."""


@hookspec
def restorefw_datasets() -> list[type]:
    """Return dataset classes (`restorefw.dataset.Dataset` subclasses): named image collections
    usable by `restorefw train` and `restorefw bench`."""


@hookspec
def restorefw_commands(cli: click.Group) -> None:
    """Add click commands to the `restorefw` command group with `cli.add_command(...)`."""
