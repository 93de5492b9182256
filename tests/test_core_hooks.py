"""Every hook specification is documented and exercised (a new hook without both fails here)."""

from __future__ import annotations

import inspect
import re

import click
import pytest
from conftest import REPO

from restorefw import hookspecs
from restorefw.plugins import load_plugins
from restorefw.registry import KINDS

SPECS = sorted(name for name, obj in vars(hookspecs).items()
               if name.startswith("restorefw_") and inspect.isfunction(obj))

# Each component hook and a built-in component it must yield; the commands hook and a command.
EXERCISED = {
    "restorefw_generators": "stylegan2-ada",
    "restorefw_latent_spaces": "w++",
    "restorefw_degradations": "inpainting",
    "restorefw_losses": "lpips-multires",
    "restorefw_metrics": "psnr",
    "restorefw_optimizers": "ngd",
    "restorefw_datasets": "aerial",
    "restorefw_commands": "convert",
}


def test_every_spec_has_a_docstring_and_prefix():
    for name in SPECS:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), name


def test_every_spec_is_documented():
    guide = (REPO / "docs" / "plugins.md").read_text()
    for name in SPECS:
        assert re.search(rf"^### `{name}", guide, re.M), f"{name} is not documented in docs/plugins.md"


def test_every_spec_is_exercised_below():
    assert sorted(EXERCISED) == SPECS


@pytest.mark.parametrize("hook", sorted(set(KINDS.values())))
def test_component_hooks_yield_documented_components(hook):
    plugins = load_plugins()
    returned = [cls for result in getattr(plugins.manager.hook, hook)() for cls in result]
    names = {cls.name for cls in returned}
    assert EXERCISED[hook] in names
    for cls in returned:
        assert cls.name and cls.description.strip() and "\n" not in cls.description.strip(), cls
        assert cls.Params.model_config.get("extra") == "forbid", f"{cls.name}: unknown params must be errors"


def test_commands_hook_adds_commands():
    plugins = load_plugins()
    group = click.Group("test")
    plugins.manager.hook.restorefw_commands(cli=group)
    assert EXERCISED["restorefw_commands"] in group.commands
